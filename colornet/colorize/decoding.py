"""From a predicted colour distribution to one colour per pixel.

The annealed mean (Zhang et al.) sits between the mean (T = 1, least squared error: PSNR's
choice) and the mode (T → 0, vivid but often wrong). The plain AuC of the ab error integrates,
over thresholds t up to 150, the share of pixels whose error is under t; for one pixel with a
predicted distribution that is E[max(0, 150 − |ab − x|)], largest where E[|ab − x|] is
smallest: at the **geometric median** of the distribution. Where the distribution is spread
around grey (the net unsure), the median stays near grey; where most of the mass agrees on a
colour, it goes there, however far from grey. That is the "confidence-aware decode" the
squared-error mean cannot be: the mean is pulled towards every rare colour the net lends a
little mass to. It is found by Weiszfeld's iteration from the mean.

Calibration. A net trained with the loss rebalanced by class weights w (Zhang et al.'s prior
boost) learns p ∝ w·q rather than the colours' own distribution q: the weighted cross-entropy is
least there. Rare classes (in our photos the blues) get extra mass everywhere, which the decode
turns into blue casts where the net is unsure — shadows first. Multiplying p by w^−s undoes the
boost (s = 1) or part of it; the model card carries the 64 factors chosen on val
(``class_scale``), so every surface decodes the same way.

Dark pixels. Most of a photo's darkest pixels are grey (55.6 % of the darkest fifth of the val
photos are in the grey class), their colour is the hardest to see and a wrong one shows as a
cast over every shadow. ``fade_dark_chroma`` scales chroma by min(1, Y / dark_limit), so below
the card's luminance limit the colour fades linearly to grey: a limit of 128 on the val photos
took the shadows' mean b* from +8.5 to +3.8 (the photos': +3.3) and raised plain and rebalanced
AuC alike (docs/training.md, "Blue shadows…").
"""
import cv2
import numpy as np

from colornet.colour import lab313

MEDIAN_ITERATIONS = 12
# Weiszfeld divides by the distance to each class colour; a floor keeps a pixel sitting exactly on
# one finite (its weight then dominates, which is where the iteration converges anyway).
MIN_DISTANCE = 0.5


def annealed_weights(scores, temperature):
    """N×K×h×w log-probabilities or scores → softmax(z/T) over K, float32 (or float64 kept)."""
    weights = lab313.annealed_exponentials(scores, temperature)
    weights /= weights.sum(axis=1, keepdims=True)
    return weights


def geometric_median(weights, colours, iterations=MEDIAN_ITERATIONS):
    """N×K×h×w weights (summing to 1 over K), K×2 colours → N×2×h×w geometric median per pixel."""
    n, k, h, w = weights.shape
    flat = weights.reshape(n, k, h * w)
    colours = colours.astype(flat.dtype)
    point = np.matmul(colours.T, flat)  # the mean: N×2×P
    for _ in range(iterations):
        du = colours[:, 0][None, :, None] - point[:, 0:1, :]
        dv = colours[:, 1][None, :, None] - point[:, 1:2, :]
        inverse = flat / np.maximum(np.sqrt(du * du + dv * dv), MIN_DISTANCE)
        point = np.matmul(colours.T, inverse) / inverse.sum(axis=1, keepdims=True)
    return point.reshape(n, 2, h, w)


def boost_undoing_scale(class_weights, strength):
    """Per-class factors w^−strength for the rebalancing weights a net was trained with (classes
    the loss ignored, weight 0, keep factor 1: the net gives them no mass to correct)."""
    weights = np.asarray(class_weights, dtype=np.float64)
    scale = np.ones_like(weights)
    trained = weights > 0
    scale[trained] = weights[trained] ** -float(strength)
    return scale


def calibrated(probabilities, class_scale):
    """N×K×h×w probabilities times per-class factors, renormalised (None: unchanged)."""
    if class_scale is None:
        return probabilities
    scaled = probabilities * np.asarray(class_scale, dtype=probabilities.dtype)[None, :, None, None]
    return scaled / np.maximum(scaled.sum(axis=1, keepdims=True), np.finfo(scaled.dtype).tiny)


def fade_dark_chroma(lum, uv, dark_limit):
    """uint8 Y H×W and U, V H×W×2 (128 neutral) → U, V scaled towards 128 by min(1, Y/dark_limit)."""
    factor = dark_factor(lum, dark_limit)[..., None]
    offsets = uv.astype(np.float32) - 128.0
    return np.rint(offsets * factor + 128.0).astype(np.uint8)


def fade_dark_offsets(lum, chroma, dark_limit, floor=0.0):
    """The same fade on a net's chroma 2×h×w (offsets from grey) before it is brought to full
    size: lum (full-resolution Y, uint8) averaged onto the chroma's grid; floor (h×w or a number):
    the least factor kept at each cell."""
    if not dark_limit:
        return chroma
    small = cv2.resize(lum, (chroma.shape[2], chroma.shape[1]), interpolation=cv2.INTER_AREA)
    return chroma * np.maximum(dark_factor(small, dark_limit), floor)[None]


def dark_factor(lum, dark_limit):
    """min(1, Y / dark_limit) per pixel, float32: how much of the chroma the fade keeps."""
    return np.minimum(lum.astype(np.float32) * (1.0 / dark_limit), 1.0)
