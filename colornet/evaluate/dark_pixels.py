"""Where blue shadows come from: in each photo's darkest pixels, the true YUV-64 classes beside
the net's mean predicted distribution (at the net's output resolution, 112×112 for the lite nets).

A net whose distribution matches the truth's class frequencies there decodes shadows without a
cast; mass the truth does not have (blue classes, u > 0) or mass it cannot give (the grey class,
when the training's loss skipped it) is where the cast comes from. The command line:
tools/dark_pixels.py.
"""
import logging

import cv2
import numpy as np

from colornet.colorize import decoding
from colornet.colorize.pipeline import Colorizer
from colornet.photo_io import UnreadableImage, read_bgr
from colornet.colour.yuv64 import Codec

log = logging.getLogger("dark_pixels")
DARK_FRACTION = 0.2


def photo_dark_classes(colorizer, bgr, codec, fraction=DARK_FRACTION, calibrate=True):
    """(true classes, predicted distributions K×n) of the photo's darkest `fraction` of output pixels."""
    y = cv2.cvtColor(bgr, cv2.COLOR_BGR2GRAY)
    probabilities = colorizer.runner.forward(colorizer.net_batch([y]))["prob"]
    if calibrate:
        probabilities = decoding.calibrated(probabilities, colorizer.model.class_scale)
    probabilities = probabilities[0]
    height, width = probabilities.shape[1:]
    small = cv2.resize(bgr, (width, height), interpolation=cv2.INTER_AREA)
    luma = cv2.cvtColor(small, cv2.COLOR_BGR2GRAY).ravel()
    dark = luma <= np.quantile(luma, fraction)
    _, labels = codec.encode_bgr(small)
    return labels.ravel()[dark], probabilities.reshape(len(probabilities), -1)[:, dark]


def dark_pixel_report(photos, model, backend=None, calibrate=True):
    """{share of grey among true classes, predicted mass on grey, mean true/decoded/predicted UV,
    true and predicted class frequencies (64 each)} over the darkest pixels of every photo."""
    codec = Codec()
    colorizer = Colorizer(model, backend)
    offsets = codec.class_uv_offsets.astype(np.float64)
    true_counts, predicted_mass, pixels, skipped = np.zeros(64), np.zeros(64), 0, 0
    for path in photos:
        try:
            labels, distributions = photo_dark_classes(colorizer, read_bgr(path), codec, calibrate=calibrate)
        except UnreadableImage as error:
            log.warning("skipped: %s", error)
            skipped += 1
            continue
        true_counts += np.bincount(labels.astype(np.intp), minlength=64)
        predicted_mass += distributions.sum(axis=1)
        pixels += labels.size
    true_share, predicted_share = true_counts / pixels, predicted_mass / pixels
    grey = codec.grey_class
    return {"photos": len(photos) - skipped, "pixels": int(pixels), "grey_class": grey,
            "true_grey_share": float(true_share[grey]), "predicted_grey_mass": float(predicted_share[grey]),
            "true_mean_uv_of_classes": (true_share @ offsets).tolist(),
            "predicted_mean_uv": (predicted_share @ offsets).tolist(),
            "true_class_share": true_share.tolist(), "predicted_class_share": predicted_share.tolist()}


def markdown(report, label):
    """The report as a short table: the classes that hold most of the truth or the prediction."""
    offsets = Codec().class_uv_offsets
    true, predicted = np.array(report["true_class_share"]), np.array(report["predicted_class_share"])
    lines = [f"Darkest {DARK_FRACTION:.0%} of pixels of {report['photos']} photos ({label}; {report['pixels']} pixels "
             f"at the net's output size): the grey class holds {100 * report['true_grey_share']:.1f} % of them; the "
             f"net gives it {100 * report['predicted_grey_mass']:.1f} %. Mean (u, v) of the true classes "
             f"({report['true_mean_uv_of_classes'][0]:+.2f}, {report['true_mean_uv_of_classes'][1]:+.2f}), of the "
             f"prediction ({report['predicted_mean_uv'][0]:+.2f}, {report['predicted_mean_uv'][1]:+.2f}); u > 0 is blue.",
             "", "| class (u, v) | truth % | net % |", "|---|---|---|"]
    for label_index in np.argsort(-(true + predicted))[:12]:
        u, v = offsets[label_index]
        lines.append(f"| {label_index} ({u:+d}, {v:+d}) | {100 * true[label_index]:.1f} | {100 * predicted[label_index]:.1f} |")
    return "\n".join(lines) + "\n"
