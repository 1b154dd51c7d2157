"""The float inference path colorize had before its 8-bit one (float Y, float resize, float
cubic chroma at full size, one rounding): kept as the reference that the fast path is measured
against (bench/bench_infer.py) and tested against (tests/colorize/test_fast_path.py)."""
import cv2
import numpy as np


def float_path(bgr, chroma, side):
    """BGR photo (H×W×3 uint8, or H×W grey) + YUV-64 chroma 2×h×w → (float Y, float net input
    side×side, uint8 YUV, uint8 BGR)."""
    bgr = cv2.cvtColor(bgr, cv2.COLOR_GRAY2BGR) if bgr.ndim == 2 else bgr  # it read every photo as BGR
    lum = cv2.cvtColor(bgr, cv2.COLOR_BGR2YUV)[..., 0].astype(np.float32)
    net_input = cv2.resize(lum, (side, side), interpolation=cv2.INTER_AREA)
    height, width = lum.shape
    upsampled = cv2.resize(chroma.transpose(1, 2, 0).astype(np.float32), (width, height), interpolation=cv2.INTER_CUBIC)
    yuv = np.clip(np.rint(np.dstack([lum, upsampled + 128.0])), 0, 255).astype(np.uint8)
    return lum, net_input, yuv, cv2.cvtColor(yuv, cv2.COLOR_YUV2BGR)
