"""Decoding a predicted colour distribution, and the shadow measure that found the blue casts."""
import cv2
import numpy as np

from colornet.colorize import decoding
from colornet.colorize.pipeline import decode
from colornet.evaluate.scoring import evaluate
from colornet.photo_io import list_images, read_bgr
from layers.yuv64 import Codec, class_boost_weights, class_prior


def brute_force_median(weights, colours):
    """The point of a fine grid with the least weighted sum of distances to the colours."""
    grid = np.stack(np.meshgrid(np.linspace(-130, 130, 521), np.linspace(-130, 130, 521)), -1).reshape(-1, 2)
    cost = (weights[None, :] * np.linalg.norm(grid[:, None, :] - colours[None], axis=2)).sum(axis=1)
    return grid[cost.argmin()], cost.min()


def median_cost(point, weights, colours):
    return float((weights * np.linalg.norm(colours - point, axis=1)).sum())


def test_geometric_median_is_the_least_sum_of_distances():
    colours = Codec().class_uv_offsets.astype(np.float64)
    rng = np.random.default_rng(3)
    for _ in range(4):
        weights = rng.dirichlet(np.full(64, 0.3))
        got = decoding.geometric_median(weights[None, :, None, None], colours)[0, :, 0, 0]
        _, best = brute_force_median(weights, colours)
        # Within the grid's resolution of the optimum, and never worse than the mean it starts at.
        assert median_cost(got, weights, colours) <= best + 0.05
        assert median_cost(got, weights, colours) <= median_cost(weights @ colours, weights, colours)


def test_median_stays_grey_when_unsure_and_follows_a_majority():
    colours = np.array([[30.0, 0.0], [-30.0, 0.0], [0.0, 0.0]])
    unsure = np.array([0.40, 0.35, 0.25])  # no side has half the mass: grey is the median
    sure = np.array([0.70, 0.10, 0.20])
    got = decoding.geometric_median(np.stack([unsure, sure])[:, :, None, None], colours)[:, :, 0, 0]
    np.testing.assert_allclose(got[0], [0, 0], atol=0.5)
    np.testing.assert_allclose(got[1], [30, 0], atol=0.5)
    assert abs((unsure @ colours)[0] - 1.5) < 1e-9  # where the mean would have put a tint


def test_pipeline_decode_median_uses_the_annealed_distribution():
    codec = Codec()
    rng = np.random.default_rng(5)
    probabilities = rng.dirichlet(np.full(64, 0.5), size=(2, 3, 4)).transpose(0, 3, 1, 2).astype(np.float32)
    outputs = {"prob": probabilities}
    median = decode(outputs, "yuv64", temperature=1.0, method="median", codec=codec)
    mean = decode(outputs, "yuv64", temperature=1.0, method="mean", codec=codec)
    assert median.shape == mean.shape == (2, 2, 3, 4)
    colours = codec.class_uv_offsets.astype(np.float64)
    weights = probabilities[0, :, 1, 2].astype(np.float64)
    assert median_cost(median[0, :, 1, 2], weights, colours) < median_cost(mean[0, :, 1, 2], weights, colours)
    sharper = decode(outputs, "yuv64", temperature=0.2, method="median", codec=codec)
    assert not np.allclose(sharper, median)


def test_class_prior_and_boost_can_count_grey():
    counts = np.array([5.0, 0.0, 3.0, 2.0])
    assert class_prior(counts, 0)[0] == 0
    np.testing.assert_allclose(class_prior(counts, None), [0.5, 0, 0.3, 0.2])
    weights = class_boost_weights(class_prior(counts, None), 0.2, -1)
    assert weights[0] > 0 and weights[3] > 0  # -1: no class ignored (class 3 is not "the last")
    assert class_boost_weights(class_prior(counts, None), 0.2, 0)[0] == 0


def test_shadow_measure_sees_a_blue_cast_in_the_dark():
    photos = list_images(["data/samples"])[:2]

    def truth(greyed):
        return [cv2.resize(read_bgr(path), (g.shape[1], g.shape[0])) for path, g in zip(photos, greyed)]

    def blue_shadows(greyed):
        tinted = []
        for photo in truth(greyed):
            lab = cv2.cvtColor(photo, cv2.COLOR_BGR2LAB).astype(np.int16)
            dark = lab[..., 0] <= np.quantile(lab[..., 0], 0.2)
            lab[..., 2][dark] -= 20  # b* down by 20 in the darkest fifth: blue
            tinted.append(cv2.cvtColor(np.clip(lab, 0, 255).astype(np.uint8), cv2.COLOR_LAB2BGR))
        return tinted

    exact, _, _ = evaluate(photos, truth, max_side=256, progress=False)
    cast, _, _ = evaluate(photos, blue_shadows, max_side=256, progress=False)
    assert abs(exact["shadows"]["model"]["b"] - exact["shadows"]["truth"]["b"]) < 1.0
    assert abs(exact["shadows"]["grey"]["b"]) < 0.01
    assert cast["shadows"]["model"]["b"] < cast["shadows"]["truth"]["b"] - 8
