"""What the user's hints say about each cell's colour class: evidence a hint-conditioned net adds
to its class scores (colornet/nets/squeeze_hints.py), each kind weighted by a gain the net learns.

The hint maps (hint_maps.py: U, V, mask on the photo's grid) are averaged over the net's score
cells; every cell a hint touches is a source with the hint's mean chroma. For each score cell and
kind of reach, the sources' weights w give a confidence (the largest w) and a hinted chroma (the
w-weighted mean of the sources'); the evidence for class c is

    confidence · −|b(c) − b(hinted chroma)|² / sigma²

with b(·) a chroma's place on the YUV-64 class grid (its companded levels, so one class step is
one unit everywhere). Kinds of reach:
- "here": the cell's own hint (w 1 on hinted cells only);
- "near": w = exp(−d²/2s²), d the distance in cells, s = near × the grid's side;
- "alike" (one per entry of alike): also × exp(−(1 − cos)/tau), cos the cosine between the two
  cells' features (the net's hypercolumn), over a reach of reach × the side: how one click can
  colour the cells of the same object and not the similar greys beside it.

No hints: zero evidence and zero confidence everywhere, so the net's scores are left exactly as
they were. Pure numpy; the Caffe adapter is layers.caffe_layers.HintEvidenceLayer.
"""
import numpy as np

from colornet.colour import hint_maps, yuv64

DEFAULTS = {"stride": 4, "near": 0.1, "reach": 0.5, "alike": [0.05, 0.15], "sigma": 0.5}


def kinds(params):
    return 2 + len(params["alike"])


def class_places(codec=None):
    """64×2 places of the YUV-64 classes on their own grid (U index, V index)."""
    offsets = (codec or yuv64.Codec()).class_uv_offsets.astype(np.float64)
    levels = np.unique(offsets[:, 0])
    return np.stack([np.interp(offsets[:, 0], levels, np.arange(len(levels))),
                     np.interp(offsets[:, 1], levels, np.arange(len(levels)))], axis=1), levels


def _pool(hints, stride, height, width):
    count, channels = hints.shape[:2]
    cropped = hints[:, :, :height * stride, :width * stride]
    return cropped.reshape(count, channels, height, stride, width, stride).mean(axis=(3, 5))


def evidence(hints, features, params=None, places=None):
    """hints N×3×H×W (hint_maps), features N×F×h×w on the score grid (H ≥ h·stride) →
    (evidence N×(K·64)×h×w, confidence N×K×h×w), float32, K = kinds(params)."""
    params = {**DEFAULTS, **(params or {})}
    class_place, levels = places if places is not None else class_places()
    count, _, height, width = features.shape
    kind_count = kinds(params)
    out = np.zeros((count, kind_count * len(class_place), height, width), np.float32)
    confidence = np.zeros((count, kind_count, height, width), np.float32)
    pooled = _pool(hints, params["stride"], height, width)
    rows, cols = np.mgrid[:height, :width]
    cells = np.stack([rows.ravel(), cols.ravel()], axis=1).astype(np.float64)
    side = max(height, width)
    for index in range(count):
        mask = pooled[index, 2]
        sources = np.flatnonzero(mask.ravel() > 0)
        if not sources.size:
            continue
        chroma = pooled[index, :2].reshape(2, -1)[:, sources] / mask.ravel()[sources] / hint_maps.CHROMA_SCALE
        place = np.stack([np.interp(chroma[0], levels, np.arange(len(levels))),
                          np.interp(chroma[1], levels, np.arange(len(levels)))], axis=1)
        distance2 = ((cells[:, None, :] - cells[sources][None, :, :]) ** 2).sum(axis=2)
        weights = [(distance2 == 0).astype(np.float64),
                   np.exp(-distance2 / (2 * (params["near"] * side) ** 2))]
        if params["alike"]:
            flat = features[index].reshape(features.shape[1], -1).astype(np.float64)
            unit = flat / np.maximum(np.linalg.norm(flat, axis=0), 1e-6)
            cosine = unit.T @ unit[:, sources]
            reach = np.exp(-distance2 / (2 * (params["reach"] * side) ** 2))
            weights += [reach * np.exp(-(1 - cosine) / tau) for tau in params["alike"]]
        for kind, weight in enumerate(weights):
            total = weight.sum(axis=1)
            held = total > 0
            hinted = (weight[held] @ place) / total[held, None]
            sure = weight[held].max(axis=1)
            cost = ((class_place[None, :, :] - hinted[:, None, :]) ** 2).sum(axis=2) / params["sigma"] ** 2
            block = np.zeros((height * width, len(class_place)))
            block[held] = -sure[:, None] * cost
            out[index, kind * len(class_place):(kind + 1) * len(class_place)] = block.T.reshape(-1, height, width)
            sureness = np.zeros(height * width)
            sureness[held] = sure
            confidence[index, kind] = sureness.reshape(height, width)
    return out, confidence
