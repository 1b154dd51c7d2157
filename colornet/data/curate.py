"""Curate gathered photos: cut transparent skies away, skip grey photos, and keep one of each
group of near-identical pictures (the same picture at another size), the largest.
"""
import logging

import cv2
import numpy as np

from colornet.photo_io import UnreadableImage, decode_bgr

log = logging.getLogger("gather_photos")

# Same picture at another size: grey 32×32 thumbnails correlate above this and the aspect ratios
# agree within DUPLICATE_ASPECT. Checked on the stereo pair motorcycle_left/right (0.93: kept).
DUPLICATE_CORRELATION = 0.97
DUPLICATE_ASPECT = 0.03
# A public photo is grey when fewer than this share of its thumbnail's pixels have a chroma
# (|U − 128| or |V − 128|) above GREY_CHROMA levels: ImageNet's grey JPEGs sit within ±2.
GREY_CHROMA = 4
GREY_SHARE = 0.02
# A photo must keep this much of its short side after its transparent rows are cut away.
MIN_OPAQUE_SIDE = 128
class GreyPhoto(UnreadableImage):
    """A photo with no colour to learn from."""


def opaque_band(payload, name):
    """PNG bytes with transparent pixels → PNG bytes of the widest band of fully opaque rows.

    Returns the payload unchanged when it has no alpha or nothing is transparent, and raises
    UnreadableImage when what stays opaque is too small to be a training photo.
    """
    if payload[:8] != b"\x89PNG\r\n\x1a\n":
        return payload
    image = cv2.imdecode(np.frombuffer(payload, np.uint8), cv2.IMREAD_UNCHANGED)
    if image is None or image.ndim != 3 or image.shape[2] != 4:
        return payload
    opaque_rows = (image[..., 3] == np.iinfo(image.dtype).max).all(axis=1)
    if opaque_rows.all():
        return payload
    best, start = (0, 0), None
    for row, opaque in enumerate(np.append(opaque_rows, False)):
        if opaque and start is None:
            start = row
        elif not opaque and start is not None:
            best = max(best, (row - start, start))
            start = None
    height, top = best
    if min(height, image.shape[1]) < MIN_OPAQUE_SIDE:
        raise UnreadableImage(f"{name}: only {height} fully opaque rows (a transparent sky or a cut-out); "
                              f"fewer than {MIN_OPAQUE_SIDE}")
    return cv2.imencode(".png", np.ascontiguousarray(image[top:top + height, :, :3]))[1].tobytes()


def describe(photo):
    """Fill in size and a 32×32 grey thumbnail (zero mean, unit norm) for duplicate detection.

    A transparent sky is cut away first (opaque_band), so the payload may change.
    """
    photo.payload = opaque_band(photo.payload, photo.file)
    image = decode_bgr(photo.payload, photo.file)
    photo.height, photo.width = image.shape[:2]
    if photo.must_have_colour and is_grey(image):
        raise GreyPhoto(f"{photo.file}: a grey photo (no colour to learn)")
    grey = cv2.resize(cv2.cvtColor(image, cv2.COLOR_BGR2GRAY), (32, 32), interpolation=cv2.INTER_AREA)
    vector = grey.astype(np.float64).ravel()
    vector -= vector.mean()
    photo.thumbnail = vector / (np.linalg.norm(vector) + 1e-9)


def is_grey(image):
    small = cv2.resize(image, (64, 64), interpolation=cv2.INTER_AREA) if image.ndim == 3 else None
    if small is None:
        return True
    chroma = np.abs(cv2.cvtColor(small, cv2.COLOR_BGR2YUV)[..., 1:].astype(np.int16) - 128).max(axis=2)
    return (chroma > GREY_CHROMA).mean() < GREY_SHARE


def drop_near_duplicates(photos):
    """Keep one of each group of near-identical pictures (the one with most pixels).

    Returns (kept, [(dropped file, kept file)]).
    """
    order = sorted(range(len(photos)), key=lambda i: -photos[i].width * photos[i].height)
    thumbnails = np.stack([photos[i].thumbnail for i in order])
    aspects = np.array([photos[i].width / photos[i].height for i in order])
    correlation = thumbnails @ thumbnails.T
    kept, dropped = [], []
    for rank, index in enumerate(order):
        twin = next((k for k in kept if correlation[rank, k] > DUPLICATE_CORRELATION
                     and abs(aspects[rank] / aspects[k] - 1.0) < DUPLICATE_ASPECT), None)
        if twin is None:
            kept.append(rank)
        else:
            dropped.append((photos[index].file, photos[order[twin]].file))
    return [photos[order[rank]] for rank in sorted(kept, key=lambda r: photos[order[r]].file)], dropped
