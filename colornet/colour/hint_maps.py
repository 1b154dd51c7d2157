"""Colour hints as a net input: three channels on the photo's grid — the hint's U and V (offsets
from grey, /128) where a hint patch is, 0 elsewhere, and a mask of 1 there — drawn at random for
training the way ideepcolor (Zhang et al. 2017) draws them, or from the user's points.

Training draws (simulate): the number of patches is geometric with p = 1/8, counted from 0 (so
one crop in eight has none and the net also learns the automatic case); each patch's side is
uniform in 1…max_side pixels; its place is Gaussian around the crop's centre with a quarter of
the side as deviation (clipped inside); its colour is the mean true chroma over the patch.
Pure numpy; the Caffe adapter is layers.caffe_layers.HintSimulationLayer.
"""
import numpy as np

from colornet.colour import yuv64

CHANNELS = 3  # U, V, mask
CHROMA_SCALE = 1 / 128
POINTS_P = 1 / 8
MAX_SIDE = 9


def class_chroma(labels, codec=None):
    """YUV-64 class labels (N×H×W ints) → N×2×H×W float32 U, V offsets from grey, /128."""
    offsets = (codec or yuv64.Codec()).class_uv_offsets.astype(np.float32) * CHROMA_SCALE
    return np.moveaxis(offsets[labels.astype(np.intp)], -1, 1)


def simulate(chroma, rng, p=POINTS_P, max_side=MAX_SIDE):
    """N×2×H×W true chroma → N×3×H×W hint maps, drawn as the module docstring says."""
    count, _, height, width = chroma.shape
    hints = np.zeros((count, CHANNELS, height, width), np.float32)
    for index in range(count):
        for _ in range(rng.geometric(p) - 1):
            side = int(rng.integers(1, max_side + 1))
            top = int(np.clip(round(rng.normal(height / 2, height / 4)) - side // 2, 0, max(height - side, 0)))
            left = int(np.clip(round(rng.normal(width / 2, width / 4)) - side // 2, 0, max(width - side, 0)))
            window = (slice(top, top + side), slice(left, left + side))
            hints[index, :2][(slice(None),) + window] = chroma[index][(slice(None),) + window].mean(axis=(1, 2))[:, None, None]
            hints[index, 2][window] = 1.0
    return hints


def render(points, height, width, scale_y=1.0, scale_x=1.0):
    """The user's hints (colorize.hints.Hint: x, y, chroma as 8-bit U, V offsets, size in photo
    pixels) → 3×height×width hint map on a grid scale_y, scale_x times the photo's."""
    hints = np.zeros((CHANNELS, height, width), np.float32)
    for point in points:
        half = max(point.size * min(scale_y, scale_x), 1) / 2
        y, x = point.y * scale_y, point.x * scale_x
        top, bottom = int(np.clip(np.floor(y - half + 0.5), 0, height - 1)), int(np.clip(np.floor(y + half + 0.5), 1, height))
        left, right = int(np.clip(np.floor(x - half + 0.5), 0, width - 1)), int(np.clip(np.floor(x + half + 0.5), 1, width))
        bottom, right = max(bottom, top + 1), max(right, left + 1)
        hints[0, top:bottom, left:right] = point.chroma[0] * CHROMA_SCALE
        hints[1, top:bottom, left:right] = point.chroma[1] * CHROMA_SCALE
        hints[2, top:bottom, left:right] = 1.0
    return hints
