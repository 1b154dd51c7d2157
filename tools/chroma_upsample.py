"""Chroma from the net's resolution to the photo's: plain cubic, or edge-aware (guided by the
photo's own full-resolution luminance).

The edge-aware way is He & Sun's fast guided filter (2015): at the net's resolution, fit the
chroma as a local linear function of the luminance, q = a·I + b, over (2r+1)² windows; upsample
a and b bilinearly; apply them to the full-resolution luminance. Where the luminance has an edge
inside one low-resolution pixel, the colour follows it instead of bleeding across. It was chosen
over OpenCV's joint bilateral filter (opencv-contrib's ximgproc, another wheel than the
opencv-python we pin) because the full-resolution part is one multiply-add per pixel and channel:
a compiled loop here (numba, already a dependency) does it in one pass with no full-size
temporary, which is what keeps camera-size photos fast and small. The numpy functions are the
reference the tests compare it with.
"""
import cv2
import numpy as np

try:
    import numba
except ImportError:  # pragma: no cover - numba is in requirements.txt; numpy remains correct
    numba = None

GUIDED_RADIUS = 2        # at the net's output resolution (112 for the 224 nets)
GUIDED_EPS = 3e-5        # regularisation, in units of the guide scaled to 0..1 (var of ~1.4 levels)


def bilinear_taps(source, target):
    """Index pairs and weights of OpenCV's INTER_LINEAR mapping (pixel centres aligned, edges
    clamped) from ``source`` samples to ``target``: (i0, i1, f) each of length target."""
    position = (np.arange(target, dtype=np.float64) + 0.5) * (source / target) - 0.5
    position = np.clip(position, 0, source - 1)
    i0 = np.floor(position).astype(np.int64)
    i1 = np.minimum(i0 + 1, source - 1)
    return i0, i1, (position - i0).astype(np.float32)


def guided_coefficients(guide_low, chroma, radius=GUIDED_RADIUS, eps=GUIDED_EPS):
    """guide h×w float32 (0..1), chroma 2×h×w → h×w×4 float32 (a₀, a₁, b₀, b₁) box-smoothed."""
    size = (2 * radius + 1, 2 * radius + 1)

    def box(image):
        return cv2.boxFilter(image, -1, size, borderType=cv2.BORDER_REFLECT)

    guide_low = guide_low.astype(np.float32)
    mean_i = box(guide_low)
    var_i = box(guide_low * guide_low) - mean_i * mean_i
    coefficients = np.empty(guide_low.shape + (4,), np.float32)
    for channel in range(2):
        p = chroma[channel].astype(np.float32)
        mean_p = box(p)
        a = (box(guide_low * p) - mean_i * mean_p) / (var_i + np.float32(eps))
        coefficients[..., channel] = box(a)
        coefficients[..., channel + 2] = box(mean_p - a * mean_i)
    return coefficients


def guided_upsample_reference(coefficients, guide, guide_scale, offset=0.0):
    """numpy: H×W guide (any dtype) → H×W×2 float32 chroma + offset (the compiled path's
    reference; it makes full-size float copies, so use it on small images only)."""
    height, width = guide.shape
    y0, y1, fy = bilinear_taps(coefficients.shape[0], height)
    x0, x1, fx = bilinear_taps(coefficients.shape[1], width)
    rows = coefficients[y0] * (1 - fy)[:, None, None] + coefficients[y1] * fy[:, None, None]
    full = rows[:, x0] * (1 - fx)[None, :, None] + rows[:, x1] * fx[None, :, None]
    g = guide.astype(np.float32)[..., None] * np.float32(guide_scale)
    return full[..., :2] * g + full[..., 2:] + np.float32(offset)


def _upsample_into(coefficients, guide, guide_scale, offset, y0, y1, fy, x0, x1, fx, out, quantise):
    height, width = guide.shape
    for y in prange(height):
        wy = fy[y]
        top_row, bottom_row = coefficients[y0[y]], coefficients[y1[y]]
        for x in range(width):
            wx = fx[x]
            g = guide[y, x] * guide_scale
            for channel in range(2):
                a = ((top_row[x0[x], channel] * (1 - wx) + top_row[x1[x], channel] * wx) * (1 - wy)
                     + (bottom_row[x0[x], channel] * (1 - wx) + bottom_row[x1[x], channel] * wx) * wy)
                b = ((top_row[x0[x], channel + 2] * (1 - wx) + top_row[x1[x], channel + 2] * wx) * (1 - wy)
                     + (bottom_row[x0[x], channel + 2] * (1 - wx) + bottom_row[x1[x], channel + 2] * wx) * wy)
                value = a * g + b + offset
                if quantise:
                    value = min(max(value + 0.5, 0.0), 255.0)
                out[y, x, channel] = value


if numba is not None:
    prange = numba.prange
    _upsample_into = numba.njit(parallel=True, cache=True, fastmath=False)(_upsample_into)
else:  # pragma: no cover
    prange = range


def guided_upsample(coefficients, guide, guide_scale, offset=0.0, dtype=np.uint8):
    """H×W guide → H×W×2 chroma + offset in one pass: uint8 (rounded, clipped to 0..255) or
    float32. Equals guided_upsample_reference up to float rounding."""
    height, width = guide.shape
    y0, y1, fy = bilinear_taps(coefficients.shape[0], height)
    x0, x1, fx = bilinear_taps(coefficients.shape[1], width)
    out = np.empty((height, width, 2), dtype)
    _upsample_into(np.ascontiguousarray(coefficients, np.float32), guide, np.float32(guide_scale),
                   np.float32(offset), y0, y1, fy, x0, x1, fx, out, dtype == np.uint8)
    return out
