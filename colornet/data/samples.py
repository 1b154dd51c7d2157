"""Turning photos into fixed-size training samples, shared by gen_lmdb.py and gen_hdf5.py.

A photo gives either one sample (``stretch`` to S×S, as the original did, or a centred square
``crop``) or N random square crops (side 0.35–1 of the short side, random position, random
horizontal flip), or the whole photo at a few scales (``scales``: short side S₁, S₂, …, aspect
kept up to MAX_ASPECT), for a Data layer that draws a new random crop and mirror every epoch.
Each photo's randomness comes from (seed, photo index), so the output does not depend on the
number of workers.
"""
import cv2
import numpy as np

from colornet.photo_io import read_bgr

RESIZE_MODES = ("stretch", "crop")
MIN_CROP_SCALE = 0.35
# Panoramas are centre-cropped to this ratio of long to short side: a record of a 5:1 strip at a
# short side of 320 would be 1,600 wide and hold mostly what its neighbours' crops already show.
MAX_ASPECT = 2.0


def resize_square(bgr, size, mode):
    """Whole photo → size×size: ``stretch`` ignores the aspect ratio, ``crop`` takes the centre."""
    if mode == "crop":
        height, width = bgr.shape[:2]
        side = min(height, width)
        top, left = (height - side) // 2, (width - side) // 2
        bgr = bgr[top:top + side, left:left + side]
    elif mode != "stretch":
        raise ValueError(f"unknown resize mode '{mode}' (choose from {RESIZE_MODES})")
    return _resize(bgr, size)


def random_crops(bgr, size, count, rng):
    """``count`` random square crops, each resized to size×size and flipped with probability ½."""
    height, width = bgr.shape[:2]
    short = min(height, width)
    crops = []
    for _ in range(count):
        side = max(1, int(round(short * rng.uniform(MIN_CROP_SCALE, 1.0))))
        top = int(rng.integers(0, height - side + 1))
        left = int(rng.integers(0, width - side + 1))
        crop = _resize(bgr[top:top + side, left:left + side], size)
        if rng.random() < 0.5:
            crop = crop[:, ::-1]
        crops.append(np.ascontiguousarray(crop))
    return crops


def whole_at_scales(bgr, scales):
    """The whole photo (aspect kept, centre-cropped to MAX_ASPECT) at each short side in ``scales``."""
    height, width = bgr.shape[:2]
    short, long_limit = min(height, width), int(min(height, width) * MAX_ASPECT)
    if max(height, width) > long_limit:
        if width > height:
            left = (width - long_limit) // 2
            bgr = bgr[:, left:left + long_limit]
        else:
            top = (height - long_limit) // 2
            bgr = bgr[top:top + long_limit]
        height, width = bgr.shape[:2]
    samples = []
    for side in scales:
        target = (max(side, int(round(width * side / short))), max(side, int(round(height * side / short))))
        interpolation = cv2.INTER_AREA if side < short else cv2.INTER_CUBIC
        samples.append(np.ascontiguousarray(cv2.resize(bgr, target, interpolation=interpolation)))
    return samples


def _resize(bgr, size):
    height, width = bgr.shape[:2]
    if min(height, width) > 2 * size:
        # Large shrink: bilinear to 2×size, then an exact 2:1 area average. Close to INTER_AREA's
        # anti-aliasing at a tenth of its cost (INTER_AREA has no fast path for odd ratios).
        bgr = cv2.resize(bgr, (2 * size, 2 * size), interpolation=cv2.INTER_LINEAR)
        return cv2.resize(bgr, (size, size), interpolation=cv2.INTER_AREA)
    return cv2.resize(bgr, (size, size), interpolation=cv2.INTER_CUBIC)


def photo_samples(path, index, size, resize, crops_per_photo, seed, scales=()):
    """All BGR samples of one photo (uint8 size×size×3, or whole at each of ``scales``).
    Raises UnreadableImage."""
    if scales:
        return whole_at_scales(read_bgr(path, min_side=max(scales)), scales)
    # The smallest crop must still have `size` pixels a side, so decoding may shrink that far.
    bgr = read_bgr(path, min_side=int(np.ceil(size / MIN_CROP_SCALE)) if crops_per_photo > 0 else size)
    if crops_per_photo > 0:
        rng = np.random.default_rng([seed, index])
        return random_crops(bgr, size, crops_per_photo, rng)
    return [resize_square(bgr, size, resize)]
