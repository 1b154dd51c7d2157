"""Chroma fitted into sRGB at the photo's own luminance.

The result keeps the photo's luminance only if its colour exists at that luminance. Where the
predicted (or hinted) chroma would leave sRGB, converting and clipping R, G, B moves the
luminance instead (on a bright blue sky by up to 12 levels). Here such pixels keep their hue and
their luminance and lose the chroma that does not fit: it is shrunk towards grey, just enough.
Pixels already in gamut are left exactly as they were.
"""
import numpy as np

from colornet.colour import lab313

# OpenCV's 8-bit YUV → BGR: B = Y + 2.032·u, G = Y − 0.395·u − 0.581·v, R = Y + 1.140·v, with
# u, v = U − 128, V − 128 (checked against cv2.cvtColor).
YUV_TO_BGR = np.array([[2.032, 0.0], [-0.395, -0.581], [0.0, 1.140]], np.float32)
LAB_BISECTION_STEPS = 12
GAMUT_MARGIN = 0.5  # levels: pixels this far inside 0..255 on B, G and R cannot need fitting


def uv_in_gamut(y, uv):
    """Y uint8 H×W and U, V uint8 H×W×2 (128 neutral) → U, V with each out-of-gamut pixel's offsets
    scaled by the largest factor that keeps Y + offsets within 0..255 (truncated towards grey)."""
    offsets = uv.astype(np.float32) - 128.0
    luma = y.astype(np.float32)
    # Most pixels are well inside: a cheap test of B, G, R (with a margin far above float32's
    # rounding) picks the few that may not be, and only those get the exact scale below.
    near = np.zeros(y.shape, bool)
    for to_u, to_v in YUV_TO_BGR:
        channel = luma + (to_u * offsets[..., 0] + to_v * offsets[..., 1])
        near |= (channel > 255.0 - GAMUT_MARGIN) | (channel < GAMUT_MARGIN)
    if not near.any():
        return uv
    offsets_near, luma_near = offsets[near], luma[near]
    scale = np.ones(len(luma_near), np.float32)
    with np.errstate(divide="ignore", invalid="ignore"):
        for to_u, to_v in YUV_TO_BGR:
            change = to_u * offsets_near[:, 0] + to_v * offsets_near[:, 1]
            room = np.where(change > 0, (255.0 - luma_near) / change,
                            np.where(change < 0, -luma_near / change, np.inf))
            np.minimum(scale, room, out=scale)
    outside = scale < 1.0
    if not outside.any():
        return uv
    fitted = uv.copy()
    rows, cols = np.nonzero(near)
    fitted[rows[outside], cols[outside]] = (np.trunc(offsets_near[outside] * scale[outside, None])
                                            + 128.0).astype(np.uint8)
    return fitted


def _linear_rgb(lab):
    fy = (lab[..., 0] + 16.0) / 116.0
    xyz = np.stack([lab313._f_lab_inverse(fy + lab[..., 1] / 500.0) * lab313._D65_WHITE[0],
                    lab313._f_lab_inverse(fy),
                    lab313._f_lab_inverse(fy - lab[..., 2] / 200.0) * lab313._D65_WHITE[2]], axis=-1)
    return xyz @ lab313._XYZ_TO_SRGB.T


def ab_in_gamut(lum, ab):
    """L H×W and ab H×W×2 (float) → ab with each out-of-gamut pixel's ab scaled towards 0 by
    bisection (LAB_BISECTION_STEPS halvings) until its linear RGB lies within 0..1."""
    def inside(lab):
        rgb = _linear_rgb(lab.astype(np.float64))
        return ((rgb >= -1e-6) & (rgb <= 1 + 1e-6)).all(axis=-1)
    lab = np.dstack([lum, ab]).astype(np.float32)
    outside = ~inside(lab)
    if not outside.any():
        return ab
    pixels = lab[outside]
    low, high = np.zeros(len(pixels), np.float32), np.ones(len(pixels), np.float32)
    for _ in range(LAB_BISECTION_STEPS):
        middle = (low + high) / 2
        fits = inside(np.column_stack([pixels[:, 0], pixels[:, 1:] * middle[:, None]]))
        low = np.where(fits, middle, low)
        high = np.where(fits, high, middle)
    fitted = np.array(ab, np.float32, copy=True)
    fitted[outside] = pixels[:, 1:] * low[:, None]
    return fitted
