"""The YUV-64 colour codec: μ-law companded, quantised U and V packed into one class per pixel.

Format (see README, "YUV-64 format"): U and V from OpenCV's ``COLOR_BGR2YUV`` are centred
(x = U − 128), μ-law companded on |x| ≤ 128 and truncated toward zero, then quantised to
``2**bits`` levels per component (``trunc(c / step) + 2**(bits − 1)``) and packed as
``label = (q_u << bits) | q_v``. With the defaults (μ = 10, 3 bits) that is 64 classes and neutral
grey is class 36. Everything is a 256-entry lookup table, so encoding an image is two indexings.
Pure numpy (and OpenCV for the colour conversion); no Caffe.
"""
import math

import cv2
import numpy as np

DEFAULT_MU = 10.0
DEFAULT_BITS = 3


def _check(mu, bits):
    if not mu > 0:
        raise ValueError(f"mu must be positive, got {mu}")
    if bits not in range(1, 5):
        raise ValueError(f"bits per component must be 1..4 (2..256 classes), got {bits}")


def encode_table(mu=DEFAULT_MU, bits=DEFAULT_BITS):
    """uint8[256]: raw U or V byte → code."""
    _check(mu, bits)
    raw = np.arange(256, dtype=np.float64)
    offset = raw - 128.0
    magnitude = np.trunc(128.0 * np.log1p(mu * np.abs(offset) / 128.0) / math.log1p(mu))
    companded = np.sign(offset) * magnitude
    step = 256 >> bits
    return (np.trunc(companded / step) + (1 << (bits - 1))).astype(np.uint8)


def decode_table(mu=DEFAULT_MU, bits=DEFAULT_BITS):
    """int16[2**bits]: code → centred offset it decodes to."""
    _check(mu, bits)
    step = 256 >> bits
    companded = (np.arange(1 << bits) - (1 << (bits - 1))).astype(np.float64) * step
    magnitude = np.trunc((np.exp(np.abs(companded) / 128.0 * math.log1p(mu)) - 1.0) * 128.0 / mu)
    return (np.sign(companded) * magnitude).astype(np.int16)


def grey_class(bits=DEFAULT_BITS):
    """The class of neutral grey (U = V = 128): 36 with 3 bits."""
    centre = 1 << (bits - 1)
    return (centre << bits) | centre


def class_count(bits=DEFAULT_BITS):
    return 1 << (2 * bits)


class Codec:
    """Vectorised encoder/decoder for one (μ, bits) setting."""

    def __init__(self, mu=DEFAULT_MU, bits=DEFAULT_BITS):
        _check(mu, bits)
        self.mu, self.bits = float(mu), int(bits)
        self.num_classes = class_count(bits)
        self.grey_class = grey_class(bits)
        self._encode = encode_table(mu, bits)
        self._decode = decode_table(mu, bits)
        codes = np.arange(self.num_classes)
        # Per class, the (U, V) offsets it decodes to: the class "centres" used for annealed means.
        self.class_uv_offsets = np.stack(
            [self._decode[codes >> self.bits], self._decode[codes & ((1 << self.bits) - 1)]], axis=1)

    def encode_uv(self, u, v):
        """uint8 U and V maps (neutral 128) → uint8 class map."""
        return (self._encode[u].astype(np.uint8) << self.bits) | self._encode[v]

    def decode_uv(self, labels):
        """Class map → uint8 U and V maps (neutral 128)."""
        labels = np.asarray(labels).astype(np.intp)
        offsets = self.class_uv_offsets[labels]
        uv = np.clip(offsets + 128, 0, 255).astype(np.uint8)
        return uv[..., 0], uv[..., 1]

    def encode_bgr(self, bgr):
        """uint8 H×W×3 BGR → (Y uint8 H×W, class uint8 H×W)."""
        yuv = cv2.cvtColor(bgr, cv2.COLOR_BGR2YUV)
        return yuv[..., 0].copy(), self.encode_uv(yuv[..., 1], yuv[..., 2])

    def decode_to_bgr(self, y, labels):
        """Y uint8 H×W and a class map of the same size → uint8 BGR."""
        u, v = self.decode_uv(labels)
        return cv2.cvtColor(np.dstack([y, u, v]), cv2.COLOR_YUV2BGR)

    def describe(self):
        return {"codec": "yuv64-mulaw", "mu": self.mu, "bits_per_component": self.bits,
                "classes": self.num_classes, "grey_class": self.grey_class,
                "packing": "(q_u << bits) | q_v", "colour_conversion": "cv2.COLOR_BGR2YUV"}


DEFAULT_PRIOR = "data/yuv64_prior_probs.npy"
# The prior over all 64 classes, grey included, for nets whose loss counts grey pixels.
PRIOR_WITH_GREY = "data/yuv64_prior_probs_grey.npy"


def class_prior(counts, ignore_class):
    """Per-class pixel counts → the empirical distribution over the classes the loss sees
    (``ignore_class``, the grey class the loss skips, gets probability 0; None: none skipped)."""
    counts = np.asarray(counts, dtype=np.float64).copy()
    if counts.ndim != 1 or np.any(counts < 0):
        raise ValueError("class counts must be a 1-D array of non-negative counts")
    if ignore_class is not None:
        counts[ignore_class] = 0
    if counts.sum() == 0:
        raise ValueError("no pixel outside the ignored class: nothing to measure a prior on")
    return counts / counts.sum()


def class_boost_weights(prior, lam=0.5, ignore_class=None):
    """Per-class loss weights w ∝ ((1 − λ)p + λ/Q)^−1 with Σ p·w = 1, as Zhang et al.'s prior
    boost. Q counts the classes present in the prior only: μ-law UV has classes no 8-bit colour
    reaches, and counting them would dilute the uniform share. The ignored class gets weight 0
    (None or a negative class: none is ignored)."""
    # Zhang's boost, shared with the 313-bin nets; imported here because lab313 loads numba,
    # which the codec's other users (the dataset tools) do not need.
    from colornet.colour.lab313 import prior_boost_weights
    prior = np.asarray(prior, dtype=np.float64)
    weights = prior_boost_weights(prior, lam, classes=int((prior > 0).sum()))
    if ignore_class is not None and ignore_class >= 0:
        weights[ignore_class] = 0.0
    return weights


def class_boost(labels, class_weights):
    """N×1×H×W class labels (any numeric dtype, as Caffe hands them over) → N×1×H×W float32
    weight of each pixel's class."""
    labels = np.asarray(labels)
    index = np.rint(labels).astype(np.intp)
    if labels.size and (index.min() < 0 or index.max() >= len(class_weights)):
        raise ValueError(f"labels outside 0..{len(class_weights) - 1}: {index.min()}..{index.max()}")
    return np.asarray(class_weights, dtype=np.float32)[index]
