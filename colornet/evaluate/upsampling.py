"""Crops of colorized photos with cubic and with guided chroma upsampling, side by side, where
guided gains most over cubic: the picture that shows what edge-aware upsampling changes.

Each row: the greyed photo's crop | cubic | guided | the true colours, at 2× so the edges show.
With --chroma truth (default) the low-resolution chroma is the photo's own, brought down to the
net's output size, so every difference from the truth is the upsampling's; with --chroma model it
is the net's prediction. Also logs the mean colour error of each over all photos.

The command line: tools/compare_upsampling.py.
"""
import logging


import cv2
import numpy as np

from colornet.colorize import families
from colornet.colorize.pipeline import Colorizer, compose, luminance
from colornet.colorize.models import Model
from colornet.common import atomic_write_bytes
from colornet.photo_io import UnreadableImage, list_images, read_bgr

log = logging.getLogger("compare_upsampling")


def best_gain_window(cubic, guided, truth, size):
    """Top-left corner of the size×size window where guided is closest to the truth relative to
    cubic, and that window's mean gain (BGR levels summed over channels)."""
    def error(image):
        return np.abs(image.astype(np.float32) - truth.astype(np.float32)).sum(axis=2)
    difference = error(cubic) - error(guided)
    mean = cv2.boxFilter(difference, -1, (size, size), normalize=True, borderType=cv2.BORDER_CONSTANT)
    half = size // 2
    inner = mean[half:mean.shape[0] - half, half:mean.shape[1] - half]
    y, x = np.unravel_index(np.argmax(inner), inner.shape)
    return int(y), int(x), float(inner[y, x])


def true_chroma(photo, family, size):
    """The photo's own chroma at the net's output resolution (size × size)."""
    return families.family(family).chroma_image(cv2.resize(photo, (size, size), interpolation=cv2.INTER_AREA))


def rows_for(photo, colorizer, crop, zoom, source, errors):
    grey = cv2.cvtColor(cv2.cvtColor(photo, cv2.COLOR_BGR2GRAY), cv2.COLOR_GRAY2BGR)
    lum = luminance(grey, colorizer.model.family)
    chroma = colorizer.chroma([lum])[0]
    if source == "truth":
        chroma = true_chroma(photo, colorizer.model.family, chroma.shape[-1])
    cubic = compose(lum, chroma, colorizer.model.family, guided=False)
    guided = compose(lum, chroma, colorizer.model.family, guided=True)
    for name, image in (("cubic", cubic), ("guided", guided)):
        errors.setdefault(name, []).append(np.abs(image.astype(np.float32) - photo).mean())
    y, x, score = best_gain_window(cubic, guided, photo, crop)
    panels = [image[y:y + crop, x:x + crop] for image in (grey, cubic, guided, photo)]
    gap = np.full((crop * zoom, 4, 3), 255, np.uint8)
    enlarged = [cv2.resize(p, (crop * zoom, crop * zoom), interpolation=cv2.INTER_NEAREST) for p in panels]
    return score, np.hstack([part for panel in enlarged for part in (panel, gap)][:-1])


def compare_upsampling(photos, output, model=None, count=4, crop=96, max_side=768, chroma="truth"):
    """Write a JPEG of `count` rows grey | cubic | guided | truth, the crops where guided chroma
    upsampling differs most from cubic. Raises colorize.models.ModelError or ValueError."""
    colorizer = Colorizer(Model.resolve(model))
    candidates, errors = [], {}
    for path in list_images(photos):
        try:
            image = read_bgr(path)
        except UnreadableImage as error:
            log.warning("%s; skipped", error)
            continue
        scale = min(1.0, max_side / max(image.shape[:2]))
        if scale < 1:
            image = cv2.resize(image, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
        if min(image.shape[:2]) < crop:
            continue
        candidates.append(rows_for(image, colorizer, crop, 2, chroma, errors) + (path,))
    if not candidates:
        raise ValueError(f"no usable photos in {' '.join(map(str, photos))}")
    chosen = sorted(candidates, key=lambda c: -c[0])[:count]
    for score, _, path in chosen:
        log.info("%s: guided is closer to the truth by %.1f levels (B+G+R) in its window", path, score)
    log.info("mean |result − truth| per channel over %d photos (%s chroma): cubic %.3f, guided %.3f",
             len(candidates), chroma, np.mean(errors["cubic"]), np.mean(errors["guided"]))
    sheet = np.vstack([part for _, row, _ in chosen
                       for part in (row, np.full((6, row.shape[1], 3), 255, np.uint8))][:-1])
    atomic_write_bytes(output, cv2.imencode(".jpg", sheet, [cv2.IMWRITE_JPEG_QUALITY, 90])[1].tobytes())
    log.info("wrote %s (grey | cubic | guided | truth)", output)
