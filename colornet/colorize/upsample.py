"""Chroma from the net's resolution to the photo's: plain cubic, or edge-aware (guided by the
photo's own full-resolution luminance).

Edge-aware upsampling adds to the cubic chroma the luminance detail that the net's resolution
cannot hold, scaled by how chroma follows luminance locally:

    chroma(x) = cubic(chroma_low)(x) + a(x) · (I(x) − cubic(I_low)(x))

where a is the slope of a guided filter (He et al.) fitted at the net's resolution over 3×3
windows and upsampled bilinearly. Where an edge runs inside one low-resolution pixel, the colour
steps with the luminance instead of smearing across it. Measured with the photos' own chroma at
the net's resolution: the error against the true colours falls by 2 % overall on the test split
(tools/compare_upsampling.py: 1.306 → 1.276 levels) and by 6 % at luminance edges (a third of it). He & Sun's fast guided filter itself (q = a·I + b
with both box-smoothed) did worse than cubic there (2.0–2.8 against 1.23 levels): smoothing b
twice blurs the chroma more than the edges gain. OpenCV's joint bilateral filter (ximgproc) needs
opencv-contrib, another wheel than the one we pin, and costs far more per pixel; here the
full-resolution part is one multiply-add per pixel and channel, done in bands of rows so that no
full-size float copy exists. (A numba loop did it in one pass, but importing and initialising
numba alone costs ~240 MB of resident memory: more than a 12 MP photo's whole working set.)
"""
import cv2
import numpy as np

GUIDED_RADIUS = 1        # 3×3 windows at the net's output resolution (112 for the 224 nets)
GUIDED_EPS = 1e-2        # regularisation, guide scaled to 0..1: measured best of 1e-4…1e-1
GUIDED_MAX_PIXELS = 2_000_000  # guide at up to this size; larger photos: cubic from there
# Full-size float work is done in bands of this many rows to bound memory.
BAND_ROWS = 256


def row_bands(height, rows=BAND_ROWS):
    """Row slices that cover an image in bands, so full-size float work stays small in memory."""
    return [slice(top, min(top + rows, height)) for top in range(0, height, rows)]


def guided_slopes(guide_low, chroma, radius=GUIDED_RADIUS, eps=GUIDED_EPS):
    """guide h×w (0..1), chroma 2×h×w → h×w×2 float32: the local slope d chroma / d guide of a
    guided filter, box-smoothed."""
    size = (2 * radius + 1, 2 * radius + 1)

    def box(image):
        return cv2.boxFilter(image, -1, size, borderType=cv2.BORDER_REFLECT)

    guide_low = guide_low.astype(np.float32)
    mean_i = box(guide_low)
    var_i = box(guide_low * guide_low) - mean_i * mean_i
    slopes = np.empty(guide_low.shape + (2,), np.float32)
    for channel in range(2):
        p = chroma[channel].astype(np.float32)
        slopes[..., channel] = box((box(guide_low * p) - mean_i * box(p)) / (var_i + np.float32(eps)))
    return slopes


def add_detail(base, guide, guide_low, slopes, guide_scale, rows=BAND_ROWS):
    """In place: base (H×W×2, uint8 — rounded and clipped — or float32) += bilinear(slopes) ·
    (guide − cubic(guide_low)) · guide_scale. Band by band of ``rows`` rows, so the full-size
    work never needs more than one band of memory, with OpenCV's multi-threaded SIMD kernels.
    Equals the whole-image numpy formula up to rounding (tested)."""
    height, width = guide.shape
    slopes = np.ascontiguousarray(slopes, np.float32)
    guide_low_up = cv2.resize(guide_low, (width, height), interpolation=cv2.INTER_CUBIC)
    scale_x, scale_y = guide_low.shape[1] / width, guide_low.shape[0] / height
    for band in row_bands(height, rows):
        top, size = band.start, (width, band.stop - band.start)
        # An affine warp onto the band's rows is the same mapping as a full-size resize (pixel
        # centres aligned), without the full-size image.
        warp = np.float64([[scale_x, 0, 0.5 * scale_x - 0.5], [0, scale_y, (top + 0.5) * scale_y - 0.5]])
        flags = cv2.WARP_INVERSE_MAP
        slope = cv2.warpAffine(slopes, warp, size, flags=cv2.INTER_LINEAR | flags, borderMode=cv2.BORDER_REPLICATE)
        detail = cv2.subtract(guide[band], guide_low_up[band], dtype=cv2.CV_32F)
        change = cv2.multiply(slope, cv2.merge([detail, detail]), scale=guide_scale)
        base[band] = cv2.add(change, base[band], dtype=cv2.CV_8U if base.dtype == np.uint8 else cv2.CV_32F)
    return base


def upsample(chroma, guide, guide_range, offset=0.0, dtype=np.uint8, guided=True,
             guided_max_pixels=GUIDED_MAX_PIXELS):
    """chroma 2×h×w + full-resolution guide H×W (0..guide_range) → H×W×2 chroma + offset, as
    uint8 (rounded at the net's resolution, then upsampled in 8 bits) or float32.

    Guided upsampling is done at the photo's size halved until it has no more than
    guided_max_pixels, and brought to a larger photo's full size by cubic interpolation: a colour
    edge is then within a few pixels of a 12 MP photo's luminance edge, at a tenth of the cost of
    guiding at full size."""
    height, width = guide.shape
    low = chroma.transpose(1, 2, 0) + np.float32(offset)
    if dtype == np.uint8:
        low = np.clip(np.rint(low), 0, 255).astype(np.uint8)
    low = np.ascontiguousarray(low, dtype)
    if not guided:
        return cv2.resize(low, (width, height), interpolation=cv2.INTER_CUBIC)
    middle = halve(guide, lambda h, w: h * w <= guided_max_pixels)
    size = middle.shape[::-1]
    base = cv2.resize(low, size, interpolation=cv2.INTER_CUBIC)
    guide_low = cv2.resize(middle, chroma.shape[:0:-1], interpolation=cv2.INTER_AREA)
    slopes = guided_slopes(guide_low.astype(np.float32) / np.float32(guide_range), chroma)
    result = add_detail(base, middle, guide_low, slopes, 1.0 / guide_range)
    return result if middle is guide else cv2.resize(result, (width, height), interpolation=cv2.INTER_CUBIC)


def float_bands(chroma, guide, guide_range, guided=True, guided_max_pixels=GUIDED_MAX_PIXELS):
    """upsample(..., dtype=float32) a band of rows at a time: → a function of a row slice giving
    that band's H_band×W×2 float32 chroma. The guided result is made at up to guided_max_pixels
    as upsample makes it; a larger photo's bands are cubic warps of it onto their rows (the same
    mapping as upsample's full-size cubic resize), so no full-size float chroma ever exists: at
    12 MP it would be 96 MB."""
    height, width = guide.shape
    if not guided:  # cubic all the way (an option, not the default): as upsample does it
        small = upsample(chroma, guide, guide_range, dtype=np.float32, guided=False)
    else:
        middle = halve(guide, lambda h, w: h * w <= guided_max_pixels)
        small = upsample(chroma, middle, guide_range, dtype=np.float32, guided=True,
                         guided_max_pixels=guided_max_pixels)
    if small.shape[:2] == (height, width):
        return lambda rows: small[rows]
    scale_x, scale_y = small.shape[1] / width, small.shape[0] / height

    def band(rows):
        warp = np.float64([[scale_x, 0, 0.5 * scale_x - 0.5], [0, scale_y, (rows.start + 0.5) * scale_y - 0.5]])
        return cv2.warpAffine(small, warp, (width, rows.stop - rows.start),
                              flags=cv2.INTER_CUBIC | cv2.WARP_INVERSE_MAP, borderMode=cv2.BORDER_REPLICATE)
    return band


def halve(image, done):
    """Halve the image's sides by area averaging until done(height, width): OpenCV averages
    exact 2×2 blocks on a fast path, a tenth of the time of one large INTER_AREA step."""
    while not done(*image.shape[:2]) and min(image.shape[:2]) >= 2:
        image = cv2.resize(image, (image.shape[1] // 2, image.shape[0] // 2), interpolation=cv2.INTER_AREA)
    return image
