"""The Lab / 313-bin method of Zhang et al. (2016) as pure numpy: colour conversion, soft
encoding onto the ab bins, class-rebalancing weights, the soft-target loss and annealed-mean
decoding. The Caffe adapters are in ``layers.caffe_layers``; tests call these directly.

Conventions: BGR is 0..255 (OpenCV's order); Lab is CIE L*a*b* under D65 as skimage's
``rgb2lab`` computes it (L 0..100, a and b about −110..110). Blobs are N×C×H×W.
"""
import pathlib

import numpy as np


REPO_ROOT = pathlib.Path(__file__).resolve().parents[2]
DEFAULT_CENTRES = "data/pts_in_hull.npy"
DEFAULT_PRIOR = "data/prior_probs.npy"
GRID_STEP = 10.0  # the ab grid the 313 bins sit on

_SRGB_TO_XYZ = np.array([[0.412453, 0.357580, 0.180423],
                         [0.212671, 0.715160, 0.072169],
                         [0.019334, 0.119193, 0.950227]])
_XYZ_TO_SRGB = np.linalg.inv(_SRGB_TO_XYZ)
_D65_WHITE = np.array([0.95047, 1.0, 1.08883])
_EPSILON = (6.0 / 29.0) ** 3


def repo_path(path):
    """Relative data paths are relative to the repository, wherever Caffe was started from."""
    path = pathlib.Path(path)
    return path if path.is_absolute() else REPO_ROOT / path


def load_centres(path=DEFAULT_CENTRES):
    centres = np.load(repo_path(path))
    if centres.ndim != 2 or centres.shape[1] != 2:
        raise ValueError(f"{path}: bin centres must be Q×2 (a, b), got shape {centres.shape}")
    return centres.astype(np.float64)


def _srgb_to_linear(values):
    return np.where(values > 0.04045, ((values + 0.055) / 1.055) ** 2.4, values / 12.92)


def _linear_to_srgb(values):
    values = np.clip(values, 0.0, None)
    return np.where(values > 0.0031308, 1.055 * values ** (1 / 2.4) - 0.055, values * 12.92)


# 8-bit input is the common case: the sRGB decoding becomes one table lookup, and so does the
# encoding back to 8 bits (65,536 linear levels: fine enough for the steep start of the curve).
_LINEAR_LUT = _srgb_to_linear(np.arange(256) / 255.0).astype(np.float32)
_ENCODE_LEVELS = 65535
_SRGB8_LUT = np.clip(np.rint(_linear_to_srgb(np.arange(_ENCODE_LEVELS + 1) / _ENCODE_LEVELS) * 255), 0, 255).astype(np.uint8)


def _f_lab(t):
    return np.where(t > _EPSILON, np.cbrt(t), t / (3 * (6 / 29) ** 2) + 4 / 29)


def bgr8_to_l(bgr):
    """uint8 H×W×3 BGR → float32 H×W lightness L (only L: what colorizing keeps of a photo)."""
    linear = _LINEAR_LUT[bgr]
    y = linear @ _SRGB_TO_XYZ[1, ::-1].astype(np.float32)
    return (116.0 * _f_lab(y) - 16.0).astype(np.float32)


def bgr_to_lab(bgr):
    """N×3×H×W BGR (0..255, any float or integer dtype) → N×3×H×W float32 Lab."""
    bgr = np.asarray(bgr)
    if bgr.ndim != 4 or bgr.shape[1] != 3:
        raise ValueError(f"need N×3×H×W BGR, got shape {bgr.shape}")
    rounded = np.rint(bgr)
    if np.array_equal(rounded, bgr) and bgr.min() >= 0 and bgr.max() <= 255:
        linear = _LINEAR_LUT[rounded.astype(np.intp)]
    else:
        linear = _srgb_to_linear(np.clip(bgr, 0, 255) / 255.0).astype(np.float32)
    rgb_linear = linear[:, ::-1]
    xyz = np.einsum("ij,njhw->nihw", (_SRGB_TO_XYZ / _D65_WHITE[:, None]).astype(np.float32), rgb_linear)
    f = _f_lab(xyz)
    lab = np.empty_like(xyz)
    lab[:, 0] = 116.0 * f[:, 1] - 16.0
    lab[:, 1] = 500.0 * (f[:, 0] - f[:, 1])
    lab[:, 2] = 200.0 * (f[:, 1] - f[:, 2])
    return lab.astype(np.float32)


def _f_lab_inverse(f):
    cube = f * f * f
    return np.where(f > 6 / 29, cube, np.float32(3 * (6 / 29) ** 2) * (f - np.float32(4 / 29)))


def lab_to_bgr(lab):
    """H×W×3 Lab (float) → H×W×3 BGR uint8 (out-of-gamut values clipped)."""
    lab = np.asarray(lab, dtype=np.float32)
    fy = (lab[..., 0] + np.float32(16)) / np.float32(116)
    # Planar arithmetic: (H·W×3) @ (3×3) matrix products are slow in numpy for so small a 3.
    xyz = [_f_lab_inverse(fy + lab[..., 1] / np.float32(500)) * np.float32(_D65_WHITE[0]),
           _f_lab_inverse(fy),
           _f_lab_inverse(fy - lab[..., 2] / np.float32(200)) * np.float32(_D65_WHITE[2])]
    bgr = np.empty(lab.shape[:2] + (3,), dtype=np.uint8)
    for channel, row in zip((2, 1, 0), _XYZ_TO_SRGB.astype(np.float32)):
        linear = row[0] * xyz[0] + row[1] * xyz[1] + row[2] * xyz[2]
        linear *= _ENCODE_LEVELS
        linear += 0.5
        np.clip(linear, 0, _ENCODE_LEVELS, out=linear)
        bgr[..., channel] = _SRGB8_LUT[linear.astype(np.int32)]
    return bgr


class SoftEncoder:
    """ab → soft target over the Q bins: the K nearest centres get exp(−d²/2σ²), normalised.

    Exact, and fast without a search tree: the ab plane is cut into small square cells and, for
    each, we precompute the few centres that can be among the K nearest of any point in it (by the
    triangle inequality, those within d_K(cell middle) + one cell diagonal of the middle), so each
    pixel measures distances to a dozen centres instead of 313.
    """
    CELL = 2.0  # side of a lookup cell in ab units

    def __init__(self, centres, k=5, sigma=5.0, compiled=None):
        """compiled: use the Numba loop of colornet/colour/soft_encode_jit.py (default: when numba is
        installed); False keeps the numpy version, the reference it is tested against."""
        # Imported here, not with the module: colorizing photos needs lab313's colour
        # conversions only, and numba alone adds ~240 MB of resident memory.
        from colornet.colour import soft_encode_jit
        self._encode_into = soft_encode_jit.encode_into
        if compiled and self._encode_into is None:
            raise ValueError("compiled=True needs numba, which is not installed")
        self.compiled = self._encode_into is not None if compiled is None else bool(compiled)
        centres = np.asarray(centres, dtype=np.float64)
        if not 1 <= k <= len(centres):
            raise ValueError(f"k must be 1..{len(centres)}, got {k}")
        if not sigma > 0:
            raise ValueError(f"sigma must be positive, got {sigma}")
        if len(centres) >= 511:
            raise ValueError("at most 510 bins: bin indices are packed into 9 bits")
        self.centres, self.k, self.sigma = centres, int(k), float(sigma)
        low = np.floor((centres.min(axis=0) - 4 * GRID_STEP) / self.CELL) * self.CELL
        high = centres.max(axis=0) + 4 * GRID_STEP
        self.origin = low
        self.cells = np.ceil((high - low) / self.CELL).astype(int)
        a_mid = low[0] + (np.arange(self.cells[0]) + 0.5) * self.CELL
        b_mid = low[1] + (np.arange(self.cells[1]) + 0.5) * self.CELL
        mids = np.stack(np.meshgrid(a_mid, b_mid, indexing="ij"), axis=-1).reshape(-1, 2)
        distances = np.sqrt(((mids[:, None] - centres[None]) ** 2).sum(axis=-1))
        order = np.argsort(distances, axis=1)
        ranked = np.take_along_axis(distances, order, axis=1)
        reach = ranked[:, self.k - 1] + self.CELL * np.sqrt(2.0)
        width = int((ranked <= reach[:, None]).sum(axis=1).max())
        # Beyond each cell's reach, point at a sentinel centre infinitely far away.
        self.candidates = np.where(ranked[:, :width] <= reach[:, None], order[:, :width], len(centres))
        # The least squared distance a candidate can have from any point of its cell (for the
        # compiled loop's early exit); a whisker lower, so float32 rounding never cuts a tie.
        nearest_possible = np.maximum(ranked[:, :width] - self.CELL * np.sqrt(2.0) / 2, 0)
        self.lower_bounds = (nearest_possible ** 2 * (1 - 1e-5)).astype(np.float32)
        padded = np.vstack([centres, [np.inf, np.inf]]).astype(np.float32)
        self._a, self._b = padded[:, 0], padded[:, 1]
        self._last = None  # (buffer address and shape, flat indices) of the last encode into `out`

    def nearest(self, ab_points):
        """P×2 points → (P×K bin indices, P×K squared distances), nearest first."""
        ab_points = np.asarray(ab_points, dtype=np.float32)
        cell = np.floor((ab_points - self.origin) / self.CELL).astype(np.intp)
        inside = np.all((cell >= 0) & (cell < self.cells), axis=1)
        cell = np.clip(cell, 0, self.cells - 1)
        candidates = self.candidates[cell[:, 0] * self.cells[1] + cell[:, 1]]
        squared = (self._a[candidates] - ab_points[:, :1]) ** 2 + (self._b[candidates] - ab_points[:, 1:]) ** 2
        squared = np.where(np.isfinite(squared), squared, np.float32(3e38))
        if not inside.all():  # far outside every bin (not reachable from 8-bit sRGB): brute force
            far = ab_points[~inside].astype(np.float64)
            full = ((self.centres[None] - far[:, None]) ** 2).sum(axis=-1)
            nearest = np.argsort(full, axis=1)[:, :candidates.shape[1]]
            candidates[~inside] = nearest
            squared[~inside] = np.take_along_axis(full, nearest, axis=1).astype(np.float32)
        return self._k_smallest(candidates, squared)

    def _k_smallest(self, candidates, squared):
        # One partition over packed keys instead of partition + gathers: a non-negative float32's
        # bit pattern orders like the float, so (bits << 9 | index) sorts by distance.
        keys = (squared.view(np.int32).astype(np.int64) << 9) | candidates
        if self.k < keys.shape[1]:
            keys = np.partition(keys, self.k - 1, axis=1)[:, :self.k]
        keys.sort(axis=1)
        indices = keys & 511
        distances = (keys >> 9).astype(np.int32).view(np.float32)
        return indices, distances

    def encode(self, ab, out=None):
        """N×2×H×W ab → N×Q×H×W float32 soft targets (each pixel sums to 1), written into
        ``out`` (e.g. a Caffe top blob) when given."""
        ab = np.asarray(ab)
        if ab.ndim != 4 or ab.shape[1] != 2:
            raise ValueError(f"need N×2×H×W ab, got shape {ab.shape}")
        n, _, h, w = ab.shape
        points = ab.transpose(0, 2, 3, 1).reshape(-1, 2)
        reused = out is not None  # only a caller's buffer is remembered for sparse clearing
        if out is None:
            out = np.zeros((n, len(self.centres), h, w), dtype=np.float32)
        elif out.shape != (n, len(self.centres), h, w) or out.dtype != np.float32 or not out.flags.c_contiguous:
            raise ValueError(f"out must be a C-contiguous float32 array of shape {(n, len(self.centres), h, w)}")
        # A Caffe top blob keeps its memory between iterations and only this layer writes it:
        # clear the entries written last time instead of all N×Q×H×W (97 MB at 40×44×44).
        key = (out.__array_interface__["data"][0], out.shape) if reused else None
        previous = self._last[1] if reused and self._last is not None and self._last[0] == key else None
        if reused and previous is None:
            out[...] = 0  # a buffer first seen: whatever it holds goes
        if self.compiled:
            # The compiled loop clears `previous` itself, in parallel, and writes this call's
            # indices into the same buffer.
            written = previous if previous is not None else np.empty(len(points) * self.k, dtype=np.int64)
            self._encode_into(
                np.ascontiguousarray(points, dtype=np.float32), self.origin, self.CELL, self.cells,
                self.candidates, self.lower_bounds, self._a, self._b, self.k, np.float32(2 * self.sigma ** 2), h * w,
                len(self.centres), out.reshape(-1), written, previous is not None)
            self._last = (key, written) if reused else None
            return out
        if previous is not None:
            out.reshape(-1)[previous] = 0
        indices, squared = self.nearest(points)
        weights = np.exp(-(squared - squared[:, :1]) / (2 * self.sigma ** 2))  # shift: no underflow
        weights /= weights.sum(axis=1, keepdims=True)
        pixel = np.arange(h * w)
        flat = (np.arange(n)[:, None, None] * len(self.centres) * h * w
                + indices.reshape(n, h * w, self.k) * (h * w) + pixel[None, :, None]).reshape(-1)
        # Scatter straight into N×Q×(H·W) order: no P×Q intermediate and no transpose.
        out.reshape(-1)[flat] = weights.reshape(-1)
        self._last = (key, flat) if reused else None
        return out


def smooth_histogram(counts, centres, sigma=5.0):
    """Gaussian smoothing of per-bin counts over the ab plane, normalised to a distribution."""
    squared = ((centres[:, None] - centres[None]) ** 2).sum(axis=-1)
    smoothed = np.exp(-squared / (2 * sigma ** 2)) @ np.asarray(counts, dtype=np.float64)
    return smoothed / smoothed.sum()


def prior_boost_weights(prior, lam=0.5, classes=None):
    """Per-bin weights w ∝ ((1 − λ)p + λ/Q)^−1, scaled so that Σ p·w = 1; Q is ``classes``
    (default: every bin of the prior)."""
    prior = np.asarray(prior, dtype=np.float64)
    if prior.ndim != 1 or np.any(prior < 0) or not np.isclose(prior.sum(), 1.0, atol=1e-6):
        raise ValueError("the prior must be a non-negative distribution over the bins")
    if not 0 <= lam <= 1:
        raise ValueError(f"lambda must be in 0..1, got {lam}")
    weights = 1.0 / ((1 - lam) * prior + lam / (classes or len(prior)))
    return weights / (prior * weights).sum()


def prior_boost(encoded, bin_weights):
    """N×Q×H×W soft targets → N×1×H×W weight of each pixel's most likely bin."""
    return bin_weights[np.argmax(encoded, axis=1)][:, None].astype(np.float32)


def non_grey_mask(ab, threshold=5.0):
    """N×2×H×W ab → N×1×H×W: 1 over an image with any |a| or |b| above threshold, else 0."""
    coloured = (np.abs(ab) > threshold).reshape(len(ab), -1).any(axis=1)
    return np.broadcast_to(coloured[:, None, None, None], (len(ab), 1) + ab.shape[2:]).astype(np.float32)


def soft_cross_entropy(scores, targets):
    """Loss −Σ t·log softmax(z) over classes and pixels, divided by the batch size, and its
    gradient with respect to the scores: (softmax(z)·Σ_c t − t) / N."""
    if scores.shape != targets.shape:
        raise ValueError(f"scores {scores.shape} and targets {targets.shape} differ in shape")
    batch = scores.shape[0]
    # In place, in the scores' precision (float32 from Caffe): this runs on N×313×H×W every
    # training iteration.
    shifted = np.array(scores, dtype=np.result_type(scores.dtype, np.float32))
    shifted -= shifted.max(axis=1, keepdims=True)
    probabilities = np.exp(shifted)
    total = probabilities.sum(axis=1, keepdims=True)
    probabilities /= total
    shifted -= np.log(total)  # now log softmax
    loss = -float(np.dot(np.ravel(targets).astype(shifted.dtype, copy=False), shifted.ravel())) / batch
    probabilities *= targets.sum(axis=1, keepdims=True)
    probabilities -= targets
    probabilities /= batch
    return loss, probabilities


def annealed_exponentials(scores, temperature):
    """exp((z − max z)/T) over axis 1 of N×K×h×w scores: softmax(z/T) before its normalisation,
    float32 from a net (float64 kept as such). The one annealed softmax of the decoders."""
    dtype = np.result_type(scores.dtype, np.float32)
    weights = np.multiply(scores, 1.0 / temperature, dtype=dtype)
    weights -= weights.max(axis=1, keepdims=True)
    np.exp(weights, out=weights)
    return weights


def annealed_expectation(scores, colours, temperature):
    """Σ_k softmax(z/T)_k · colour_k per pixel: N×K×h×w scores, K×2 colours → N×2×h×w.

    softmax(z/T) is the annealed distribution p^(1/T)/Σ p^(1/T) of p = softmax(z). The
    normalisation is applied to the 2-channel result rather than to all K channels: one pass
    fewer over the largest array of the post-processing.
    """
    n, k, h, w = scores.shape
    weights = annealed_exponentials(scores, temperature).reshape(n, k, h * w)
    total = weights.sum(axis=1, keepdims=True)
    colour = np.matmul(colours.T.astype(weights.dtype), weights)
    colour /= total
    return colour.reshape(n, 2, h, w)


def gaussian_encode(ab, centres, sigma=5.0):
    """N×2×H×W ab → N×Q×H×W: exp(−|ab − c_q|²/2σ²) over every bin, normalised per pixel (the
    stock net's soft encoding; SoftEncoder keeps only the K nearest)."""
    ab = np.asarray(ab, dtype=np.float64)
    squared = ((ab[:, None] - np.asarray(centres, dtype=np.float64)[None, :, :, None, None]) ** 2).sum(axis=2)
    weights = np.exp(-(squared - squared.min(axis=1, keepdims=True)) / (2 * sigma ** 2))
    return weights / weights.sum(axis=1, keepdims=True)


def smooth_prior_boost(encoded, bin_weights):
    """N×Q×H×W soft targets → N×1×H×W Σ_q z_q·w_q: prior_boost's weight averaged over the soft
    target instead of taken at its argmax (the stock net's form: no ArgMax layer, which has no GPU
    code in Caffe)."""
    return np.einsum("nqhw,q->nhw", encoded, np.asarray(bin_weights))[:, None]


# 8-bit Lab as OpenCV stores it (L·255/100, a + 128, b + 128, rounded): what the Lab LMDB holds
# (tools/gen_lmdb.py --format lab). Rounding costs at most 0.2 in L and 0.5 in a and b; every
# 8-bit sRGB colour's a and b lie within −87..99 and −108..95, inside the byte range.
LAB8_L_SCALE = 255.0 / 100.0
LAB8_AB_OFFSET = 128.0
LAB8_MAX_ERROR = (50.0 / 255.0, 0.5, 0.5)


def bgr8_to_lab8(bgr):
    """H×W×3 uint8 BGR → H×W×3 uint8 8-bit Lab (L, a, b channels)."""
    lab = bgr_to_lab(np.asarray(bgr)[None].transpose(0, 3, 1, 2))[0]
    lab[0] *= LAB8_L_SCALE
    lab[1:] += LAB8_AB_OFFSET
    return np.clip(np.rint(lab), 0, 255).astype(np.uint8).transpose(1, 2, 0)


