"""data/samples/: a handful of small black-and-white photos for the demo and the tests.

Photos are picked evenly spread over the list (so the choice is stable), greyed, their long side
brought down to `side` pixels, and written as JPEG. Use the val split: the default model has not
seen those photos.
"""
import logging

import cv2

from colornet.common import atomic_write_bytes
from colornet.photo_io import list_images, read_bgr

log = logging.getLogger("make_samples")


class TooFewPhotos(ValueError):
    """The list has fewer photos than samples asked for."""


def make_samples(inputs, output, count=6, side=480):
    """Write `count` grey JPEGs of the photos in `inputs` (files, folders, .txt lists) to `output`.

    Raises TooFewPhotos, or photo_io.UnreadableImage for a chosen photo that cannot be read.
    Returns the written paths.
    """
    photos = list_images(inputs)
    if len(photos) < count:
        raise TooFewPhotos(f"only {len(photos)} photos in {' '.join(map(str, inputs))}, need {count}")
    step = len(photos) / count
    chosen = [photos[int(i * step)] for i in range(count)]
    output.mkdir(parents=True, exist_ok=True)
    written = []
    for path in chosen:
        bgr = read_bgr(path)
        scale = side / max(bgr.shape[:2])
        if scale < 1:
            bgr = cv2.resize(bgr, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
        grey = cv2.cvtColor(bgr, cv2.COLOR_BGR2GRAY)
        target = output / f"{path.stem}.jpg"
        atomic_write_bytes(target, cv2.imencode(".jpg", grey, [cv2.IMWRITE_JPEG_QUALITY, 90])[1].tobytes())
        log.info("wrote %s (from %s)", target, path)
        written.append(target)
    return written
