"""Decoding a predicted colour distribution, and the shadow measure that found the blue casts."""
import cv2
import numpy as np
import pytest

from colornet.colorize import decoding
from colornet.colorize.pipeline import decode
from colornet.colorize.settings import Settings
from colornet.evaluate.scoring import evaluate
from colornet.photo_io import list_images, read_bgr
from colornet.colour.yuv64 import Codec, class_boost_weights, class_prior


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
    median = decode(outputs, "yuv64", temperature=1.0, method="median")
    mean = decode(outputs, "yuv64", temperature=1.0, method="mean")
    assert median.shape == mean.shape == (2, 2, 3, 4)
    colours = codec.class_uv_offsets.astype(np.float64)
    weights = probabilities[0, :, 1, 2].astype(np.float64)
    assert median_cost(median[0, :, 1, 2], weights, colours) < median_cost(mean[0, :, 1, 2], weights, colours)
    sharper = decode(outputs, "yuv64", temperature=0.2, method="median")
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


def test_undoing_the_boost_recovers_the_distribution_the_weighted_loss_skewed():
    rng = np.random.default_rng(7)
    truth = rng.dirichlet(np.ones(64), size=(1, 2, 3)).transpose(0, 3, 1, 2)
    class_weights = rng.uniform(0.2, 5.0, 64)
    class_weights[36] = 0.0  # the ignored class: no mass, no correction
    truth[:, 36] = 0
    truth /= truth.sum(axis=1, keepdims=True)
    skewed = truth * class_weights[None, :, None, None]  # what the weighted loss is least at
    skewed /= skewed.sum(axis=1, keepdims=True)
    np.testing.assert_allclose(decoding.calibrated(skewed, decoding.boost_undoing_scale(class_weights, 1.0)), truth,
                               atol=1e-12)
    assert decoding.calibrated(skewed, None) is skewed
    half = decoding.calibrated(skewed, decoding.boost_undoing_scale(class_weights, 0.5))
    assert np.abs(half - truth).sum() < np.abs(skewed - truth).sum()


def test_the_model_cards_decoding_reaches_every_colorizer(tmp_path):
    from colornet.colorize.models import Model, ModelError
    from colornet.colorize.pipeline import Colorizer
    import json
    import shutil
    folder = tmp_path / "calibrated"
    shutil.copytree("models/default", folder)
    card = json.loads((folder / "model.json").read_text())
    scale = np.ones(64)
    scale[[43, 50, 51, 42]] = 0.01  # the bluish classes (u > 0, v < 0) nearly removed
    card.update({"decode": "median", "temperature": 0.6, "class_scale": scale.tolist()})
    (folder / "model.json").write_text(json.dumps(card))
    photo = read_bgr(list_images(["data/samples"])[0])
    photo = cv2.resize(photo, (160, 120))
    carded = Colorizer(Model.resolve(str(folder)), "opencv")
    assert (carded.method, carded.temperature) == ("median", 0.6)
    plain = Colorizer(Model.resolve("default"), "opencv", Settings(temperature=0.6, decode="median"))
    lum = [cv2.cvtColor(photo, cv2.COLOR_BGR2GRAY)]
    outputs = plain.runner.forward(plain.net_batch(lum))
    expected = decode(outputs, "yuv64", 0.6, "median", class_scale=scale)
    np.testing.assert_allclose(carded.chroma(lum), expected, atol=1e-4)
    assert not np.allclose(plain.chroma(lum), expected, atol=1e-2)
    assert carded.colorize([photo])[0].tobytes() != plain.colorize([photo])[0].tobytes()
    card["class_scale"] = [1.0] * 63
    (folder / "model.json").write_text(json.dumps(card))
    try:
        Model.resolve(str(folder))
    except ModelError as error:
        assert "64 factors" in str(error) and "model.json" in str(error)
    else:
        raise AssertionError("a card with 63 factors was accepted")


def test_the_choice_rule_prefers_no_colour_to_wrong_colour():
    from colornet.evaluate.decode_tuning import choose

    def result(name, plain, rebalanced, cf, shadow_b=2.0):
        return {"name": name, "summary": {"model": {"auc": plain, "auc_rebalanced": rebalanced, "cf": cf},
                                          "grey": {"auc": 87.0}, "cf_truth": 45.0,
                                          "shadows": {"model": {"b": shadow_b}, "truth": {"b": 3.0}}}}
    vivid, honest, pale, grey_like = (result("vivid", 85.0, 65.0, 30), result("honest", 87.2, 63.5, 16),
                                      result("pale", 87.9, 62.5, 9), result("safe", 87.1, 63.0, 15.5))
    assert choose([vivid, honest, pale, grey_like])[0]["name"] == "honest"  # pale is under a third of 45
    assert choose([vivid, result("less", 86.0, 64.0, 20)])[0]["name"] == "less"  # none at grey: best plain
    yellow = result("yellow shadows", 87.5, 64.0, 20, shadow_b=7.5)
    assert choose([yellow, honest])[0]["name"] == "honest"
    # With a margin over grey's plain AuC, a setting just at grey's no longer qualifies.
    clear = result("clear", 88.1, 63.2, 16)
    assert choose([honest, clear], plain_margin=1.0)[0]["name"] == "clear"
    assert choose([honest, clear])[0]["name"] == "honest"


@pytest.mark.slow  # 48 decodings, the command line in a fresh process
def test_tune_decode_writes_the_table_and_the_card_that_the_colorizer_then_uses(tmp_path):
    import json
    import shutil
    from colornet.colorize.models import Model
    from colornet.colorize.pipeline import Colorizer
    from colornet.evaluate import decode_tuning
    from tests.conftest import run_tool
    folder = tmp_path / "model"
    shutil.copytree("models/default", folder)
    photos = tmp_path / "photos"
    photos.mkdir()
    for path in list_images(["data/samples"])[:2]:
        shutil.copy(path, photos / path.name)
    result = run_tool("tune_decode", photos, "--model", folder, "--prior", "data/yuv64_prior_probs.npy",
                      "--boost-lambda", "0.2", "--max-side", "96", "-o", tmp_path / "sweep", "--card", "-q")
    assert result.returncode == 0, result.stderr
    rows = json.loads((tmp_path / "sweep" / "decode_sweep.json").read_text())
    assert len(rows) == len(decode_tuning.STRENGTHS) * len(decode_tuning.DECODES) * len(decode_tuning.DARK_LIMITS) and "| grey |" in (tmp_path / "sweep" / "decode_sweep.md").read_text()
    card = json.loads((folder / "model.json").read_text())
    assert len(card["class_scale"]) == 64 and card["decode"] in ("mean", "median") and str(photos) in card["decode_chosen_by"]
    chosen = next(r for r in rows if (r["decode"], r["temperature"], r["dark_limit"]) ==
                  (card["decode"], card["temperature"], card["dark_limit"])
                  and np.allclose(decoding.boost_undoing_scale(
                      class_boost_weights(np.load("data/yuv64_prior_probs.npy"), 0.2, 36), r["strength"]),
                      card["class_scale"], rtol=1e-5))
    colorizer = Colorizer(Model.resolve(str(folder)), "opencv")
    assert (colorizer.method, colorizer.temperature, colorizer.dark_limit) == \
        (chosen["decode"], chosen["temperature"], chosen["dark_limit"])
    assert run_tool("tune_decode", photos, "--model", folder, "--prior", tmp_path / "missing.npy",
                    "--boost-lambda", "0.2", "-q").returncode == 2


def test_dark_pixel_classes_of_a_net_that_knows_the_truth_match_the_truth():
    from colornet.colorize.models import Model
    from colornet.colorize.pipeline import Colorizer
    from colornet.evaluate.dark_pixels import photo_dark_classes
    codec = Codec()
    photo = read_bgr(list_images(["data/samples"])[1])

    class Oracle:
        name = "oracle"

        def forward(self, batch, outputs=None):
            small = cv2.resize(photo, (112, 112), interpolation=cv2.INTER_AREA)
            _, labels = codec.encode_bgr(small)
            return {"prob": np.eye(64, dtype=np.float32)[labels].transpose(2, 0, 1)[None]}

    colorizer = Colorizer(Model.resolve("default"), "opencv")
    colorizer.runner = Oracle()
    labels, distributions = photo_dark_classes(colorizer, photo, codec, calibrate=False)
    assert labels.size == distributions.shape[1] and 0.15 * 112 * 112 < labels.size <= 0.3 * 112 * 112
    np.testing.assert_array_equal(distributions.argmax(axis=0), labels)
    assert photo_dark_classes(colorizer, photo, codec, fraction=1.0)[0].size == 112 * 112


def test_dark_chroma_fades_to_grey_below_the_limit_and_only_there():
    lum = np.array([[0, 32, 64, 128, 200]], np.uint8)
    uv = np.dstack([np.full((1, 5), 168, np.uint8), np.full((1, 5), 88, np.uint8)])  # offsets +40, −40
    faded = decoding.fade_dark_chroma(lum, uv, 128)
    np.testing.assert_array_equal(faded[0, :, 0], [128, 138, 148, 168, 168])
    np.testing.assert_array_equal(faded[0, :, 1], [128, 118, 108, 88, 88])


def test_the_cards_dark_limit_changes_dark_pixels_only(tmp_path):
    import json
    import shutil
    from colornet.colorize.models import Model
    from colornet.colorize.pipeline import Colorizer
    folder = tmp_path / "faded"
    shutil.copytree("models/default", folder)
    card = json.loads((folder / "model.json").read_text())
    card["dark_limit"] = 128
    (folder / "model.json").write_text(json.dumps(card))
    photo = cv2.resize(read_bgr(list_images(["data/samples"])[0]), (192, 128))
    grey = cv2.cvtColor(photo, cv2.COLOR_BGR2GRAY)
    plain = Colorizer(Model.resolve("default"), "opencv").with_settings(dark_limit=0).colorize([grey])[0]
    faded_colorizer = Colorizer(Model.resolve(str(folder)), "opencv")
    assert faded_colorizer.dark_limit == 128
    faded = faded_colorizer.colorize([grey])[0]
    bright, dark = grey >= 128, grey < 100
    assert bright.any() and dark.any()
    np.testing.assert_array_equal(faded[bright], plain[bright])

    def chroma(bgr):
        yuv = cv2.cvtColor(bgr, cv2.COLOR_BGR2YUV).astype(np.float64)
        return np.abs(yuv[..., 1:] - 128).sum(axis=-1)
    assert chroma(faded)[dark].mean() < 0.8 * chroma(plain)[dark].mean()


def test_hints_are_not_faded_in_the_dark_but_the_automatic_colours_are(tmp_path):
    from colornet.colorize.hints import Hint
    from colornet.colorize.models import Model
    from colornet.colorize.pipeline import Colorizer
    photo = cv2.resize(read_bgr(list_images(["data/samples"])[0]), (192, 128))
    grey = cv2.cvtColor(photo, cv2.COLOR_BGR2GRAY)
    dark = np.unravel_index(np.argmin(grey), grey.shape)
    hints = [Hint(x=int(dark[1]), y=int(dark[0]), chroma=(-20.0, 40.0))]
    faded = Colorizer(Model.resolve("default"), "opencv").with_settings(dark_limit=128)
    unfaded = faded.with_settings(dark_limit=0)
    assert faded.colorize([grey])[0].tobytes() != unfaded.colorize([grey])[0].tobytes()
    # Levin's propagation alone: the hints' colours everywhere, none faded.
    levin, levin_unfaded = faded.with_settings(hint_weight=0.0), unfaded.with_settings(hint_weight=0.0)
    assert levin.colorize([grey], [hints])[0].tobytes() == levin_unfaded.colorize([grey], [hints])[0].tobytes()
    # With the hint net the net's own colours keep their caution, but the hinted patch does not.
    hinted, hinted_unfaded = faded.colorize([grey], [hints])[0], unfaded.colorize([grey], [hints])[0]
    patch = (slice(max(dark[0] - 1, 0), dark[0] + 2), slice(max(dark[1] - 1, 0), dark[1] + 2))
    assert np.array_equal(hinted[patch], hinted_unfaded[patch]) and not np.array_equal(hinted, hinted_unfaded)


def test_the_lab_family_fades_dark_pixels_by_the_same_8_bit_limit():
    from colornet.colorize import families
    lab = families.family("lab313")
    levels = np.float32([10.0, 30.0, 45.0, 60.0, 90.0])  # L; ×2.55: 25.5 … 229.5
    lum = np.tile(np.repeat(levels, 2), (8, 1))
    chroma = np.zeros((2, 4, 5), np.float32)
    chroma[0], chroma[1] = 20.0, -15.0
    plain, faded = lab.compose(lum, chroma, guided=False), lab.compose(lum, chroma, guided=False, dark_limit=128)

    def ab(bgr):
        from colornet.colour import lab313
        return lab313.bgr_to_lab(bgr.transpose(2, 0, 1)[None].astype(np.float32))[0, 1:]
    plain_ab, faded_ab = ab(plain), ab(faded)
    assert np.array_equal(plain[:, 6:], faded[:, 6:])  # L 60 and 90: above 128 / 2.55
    shrink = np.abs(faded_ab).sum(axis=0)[4, ::2] / np.abs(plain_ab).sum(axis=0)[4, ::2]
    # min(1, 2.55·L / 128) of the chroma is kept, within 8-bit rounding
    np.testing.assert_allclose(shrink[:3], levels[:3] * 2.55 / 128, atol=0.1)


def test_the_lab_familys_class_scale_weighs_bins_as_yuv64s_does():
    from colornet.colorize import families
    lab = families.family("lab313")
    scores = np.zeros((1, len(lab.class_colours()), 2, 2), np.float32)  # every bin alike: the mean of all centres
    target = int(np.argmax(lab.class_colours()[:, 1]))           # the most yellow bin
    scale = np.ones(len(lab.class_colours()))
    scale[target] = 1e6
    plain = lab.decode({"conv8_313": scores}, 1.0)
    favoured = lab.decode({"conv8_313": scores}, 1.0, class_scale=scale)
    np.testing.assert_allclose(favoured[0, :, 0, 0], lab.class_colours()[target], atol=0.5)
    assert abs(plain[0, 1, 0, 0] - lab.class_colours()[target, 1]) > 20


def test_a_card_whose_class_scale_is_not_one_per_class_of_its_family_is_refused(tmp_path):
    import json
    import shutil
    from colornet.colorize.models import Model, ModelError
    folder = tmp_path / "lab"
    folder.mkdir()
    shutil.copy("prototxt/deploy_squeeze_lab.prototxt", folder / "deploy.prototxt")
    (folder / "weights.caffemodel").write_bytes(b"")
    (folder / "model.json").write_text(json.dumps({"class_scale": [1.0] * 64}))
    with pytest.raises(ModelError, match="313 factors, one per lab313 class"):
        Model.resolve(str(folder))
    (folder / "model.json").write_text(json.dumps({"class_scale": [1.0] * 313}))
    assert len(Model.resolve(str(folder)).class_scale) == 313


def test_undoing_a_lab_nets_rebalancing_uses_the_313_bins_prior_boost():
    from colornet.colour import lab313
    from colornet.evaluate.decode_tuning import Boost
    boost = Boost("data/lab313_prior_probs_world.npy", 0.5, None, "lab313")
    weights = lab313.prior_boost_weights(np.load("data/lab313_prior_probs_world.npy"), 0.5)
    np.testing.assert_allclose(boost.weights(), weights)
    assert len(boost.card_scale(0.5)) == 313
    np.testing.assert_allclose(boost.card_scale(1.0), 1 / weights, rtol=1e-5)
