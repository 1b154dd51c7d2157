"""Chroma fitted into sRGB: the result keeps the photo's luminance at every pixel (within one
8-bit level), out-of-gamut colours keep their hue, in-gamut pixels are untouched."""
import pathlib

import cv2
import numpy as np
import pytest

from colornet.colour.gamut import ab_in_gamut, uv_in_gamut
from colornet.colorize import hints as hint_module
from colornet.colorize.hints import Hint
from colornet.colorize.models import Model
from colornet.colorize.pipeline import Colorizer
from colornet.colour import lab313

REPO_ROOT = pathlib.Path(__file__).resolve().parents[2]


def test_uv_fitted_into_gamut_keeps_luma_and_hue_and_leaves_the_rest():
    rng = np.random.default_rng(0)
    y = rng.integers(0, 256, (200, 300)).astype(np.uint8)
    uv = rng.integers(0, 256, (200, 300, 2)).astype(np.uint8)
    fitted = uv_in_gamut(y, uv)
    bgr = cv2.cvtColor(cv2.merge([y, fitted]), cv2.COLOR_YUV2BGR)
    assert np.abs(cv2.cvtColor(bgr, cv2.COLOR_BGR2GRAY).astype(int) - y).max() <= 1
    clipped = cv2.cvtColor(cv2.merge([y, uv]), cv2.COLOR_YUV2BGR)
    assert np.abs(cv2.cvtColor(clipped, cv2.COLOR_BGR2GRAY).astype(int) - y).max() > 20  # what clipping did
    changed = (fitted != uv).any(axis=2)
    in_gamut = ((clipped > 0) & (clipped < 255)).all(axis=2)
    assert 0.3 < changed.mean() < 0.95 and not (changed & in_gamut).any()
    before, after = uv[changed].astype(float) - 128, fitted[changed].astype(float) - 128
    assert (np.linalg.norm(after, axis=1) <= np.linalg.norm(before, axis=1)).all()
    angle = np.abs(np.angle(before[:, 0] + 1j * before[:, 1]) - np.angle(after[:, 0] + 1j * after[:, 1]))
    strong = np.linalg.norm(after, axis=1) > 20
    assert np.median(np.minimum(angle, 2 * np.pi - angle)[strong]) < 0.05


def test_ab_fitted_into_gamut_keeps_l():
    rng = np.random.default_rng(1)
    lum = rng.uniform(0, 100, (100, 200)).astype(np.float32)
    ab = rng.uniform(-110, 110, (100, 200, 2)).astype(np.float32)
    fitted = ab_in_gamut(lum, ab)
    out = lab313.lab_to_bgr(np.dstack([lum, fitted]))
    # L of the 8-bit result, computed exactly (OpenCV's 8-bit Lab rounds dark colours by 2 levels).
    levels = np.abs(lab313.bgr8_to_l(out) - lum) * 255 / 100
    assert levels.max() <= 1
    unfitted = lab313.lab_to_bgr(np.dstack([lum, ab]))
    assert (np.abs(lab313.bgr8_to_l(unfitted) - lum) * 255 / 100).max() > 20


@pytest.fixture(scope="module")
def colorizer():
    return Colorizer(Model.resolve("default"), "opencv")


def test_the_shipped_model_keeps_every_pixels_luminance_on_real_photos(colorizer):
    """The demo photos and a saturated blue hint on a bright photo: every pixel's Y within 1."""
    samples = sorted((REPO_ROOT / "data/samples").glob("*.jpg"))
    assert len(samples) >= 4
    for path in samples:
        grey = cv2.imread(str(path), cv2.IMREAD_GRAYSCALE)
        out = colorizer.colorize([grey])[0]
        assert np.abs(cv2.cvtColor(out, cv2.COLOR_BGR2GRAY).astype(int) - grey).max() <= 1, path.name
    bright = np.clip(cv2.imread(str(samples[0]), cv2.IMREAD_GRAYSCALE).astype(int) + 90, 0, 255).astype(np.uint8)
    blue = Hint(bright.shape[1] // 2, bright.shape[0] // 2, hint_module.colour_chroma((255, 60, 0), "yuv64"), 40)
    out = colorizer.colorize([bright], [[blue]])[0]
    assert np.abs(cv2.cvtColor(out, cv2.COLOR_BGR2GRAY).astype(int) - bright).max() <= 1
