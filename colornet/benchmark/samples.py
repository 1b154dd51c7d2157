"""Real data for the layer benchmarks: ab batches of real photos, as the training net sees them."""
import pathlib

import cv2
import numpy as np

from colornet.common import REPO_ROOT
from colornet.photo_io import list_images, read_bgr
from colornet.colour import lab313


def real_ab_batch(count=40, side=176):
    """ab of `count` real photos at side×side, subsampled by 4 as the training net does."""
    photos = list_images([REPO_ROOT / "data/photos/val.txt"]) if (REPO_ROOT / "data/photos/val.txt").exists() else []
    if len(photos) < 4:
        import skimage
        photos = sorted((pathlib.Path(skimage.__file__).parent / "data").glob("*.png"))
    images = []
    for path in photos:
        try:
            images.append(cv2.resize(read_bgr(path), (side, side), interpolation=cv2.INTER_AREA))
        except ValueError:
            continue
    batch = np.stack([images[i % len(images)] for i in range(count)]).transpose(0, 3, 1, 2)
    return lab313.bgr_to_lab(batch)[:, 1:, ::4, ::4].astype(np.float32)


def backend_photos(folder, count):
    """Grey JPEGs of at most 512 px a side: the val photos (or the demo samples), as a new user
    colours them."""
    sources = list_images([REPO_ROOT / "data/photos/val.txt"]) if (REPO_ROOT / "data/photos/val.txt").exists() \
        else list_images([REPO_ROOT / "data/samples"])
    paths = []
    for number, source in enumerate(sources[:count]):
        grey = cv2.cvtColor(read_bgr(source), cv2.COLOR_BGR2GRAY)
        scale = min(1.0, 512 / max(grey.shape))
        grey = cv2.resize(grey, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
        paths.append(folder / f"{number:03d}.jpg")
        cv2.imwrite(str(paths[-1]), grey, [cv2.IMWRITE_JPEG_QUALITY, 90])
    return paths
