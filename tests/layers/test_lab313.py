"""Lab/313 layers: pure-numpy functions checked against references, and their Caffe adapters."""
import pathlib
import numpy as np
import pytest

from colornet.colour import lab313
from tests.conftest import REPO_ROOT


@pytest.fixture(scope="module")
def centres():
    return lab313.load_centres()


def test_bin_centres_are_the_published_313_in_order(centres):
    published = np.loadtxt(REPO_ROOT.parent / "shared/spec/pts_in_hull.txt") \
        if (REPO_ROOT.parent / "shared/spec/pts_in_hull.txt").exists() else None
    assert centres.shape == (313, 2)
    assert np.all(centres % 10 == 0)
    assert tuple(centres[0]) == (-90, 50) and len(np.unique(centres, axis=0)) == 313
    if published is not None:
        np.testing.assert_array_equal(centres, published)


def test_bgr_to_lab_matches_skimage_on_a_grid_of_8bit_colours():
    from skimage.color import rgb2lab
    levels = np.arange(0, 256, 15).tolist() + [255]
    bgr = np.stack(np.meshgrid(levels, levels, levels, indexing="ij"), axis=-1).reshape(-1, 1, 3).astype(np.uint8)
    ours = lab313.bgr_to_lab(bgr.transpose(2, 0, 1)[None].astype(np.float32))[0].transpose(1, 2, 0)
    reference = rgb2lab(bgr[..., ::-1])
    assert np.abs(ours - reference).max() < 0.5
    # Non-integer input takes the exact (not table) path and agrees too.
    assert np.abs(lab313.bgr_to_lab(bgr.transpose(2, 0, 1)[None] + 0.25)[0].transpose(1, 2, 0) - reference).max() < 0.5
    # And back: Lab → BGR returns the 8-bit colour within one level.
    assert np.abs(lab313.lab_to_bgr(ours).astype(int) - bgr).max() <= 1


def brute_force_encoding(ab, centres, k, sigma):
    points = ab.transpose(0, 2, 3, 1).reshape(-1, 2)
    squared = ((points[:, None] - centres[None]) ** 2).sum(-1)
    nearest = np.argsort(squared, axis=1, kind="stable")[:, :k]
    nearest_squared = np.take_along_axis(squared, nearest, 1)
    weights = np.exp(-(nearest_squared - nearest_squared[:, :1]) / (2 * sigma ** 2))
    weights /= weights.sum(1, keepdims=True)
    encoded = np.zeros((len(points), len(centres)))
    np.put_along_axis(encoded, nearest, weights, 1)
    n, _, h, w = ab.shape
    return encoded.reshape(n, h, w, -1).transpose(0, 3, 1, 2)


@pytest.mark.parametrize("compiled", [False, True], ids=["numpy", "numba"])
@pytest.mark.parametrize("k, sigma", [(1, 5.0), (5, 5.0), (10, 5.0), (5, 12.0)])
def test_soft_encoding_matches_brute_force(centres, k, sigma, compiled):
    rng = np.random.default_rng(k)
    ab = rng.uniform(-115, 115, (2, 2, 9, 7))
    ab[0, :, 0, 0] = (300, -300)  # far outside every bin: still the right neighbours
    encoded = lab313.SoftEncoder(centres, k, sigma, compiled=compiled).encode(ab)
    assert encoded.shape == (2, 313, 9, 7) and encoded.dtype == np.float32
    np.testing.assert_allclose(encoded.sum(axis=1), 1.0, atol=1e-5)
    nonzero = (encoded > 0).sum(axis=1)
    nonzero[0, 0, 0] = k  # the far point's farther neighbours underflow to 0 in float32
    assert np.all(nonzero == k)
    np.testing.assert_allclose(encoded, brute_force_encoding(ab, centres, k, sigma), atol=1e-5)


def test_soft_encoding_nearest_bin_gets_the_largest_weight_and_sigma_sets_the_ratio(centres):
    ab = np.array([[(3.0, 41.0)]]).transpose(2, 0, 1)[None]  # 1×2×1×1
    encoder = lab313.SoftEncoder(centres, k=5, sigma=5.0)
    weights = encoder.encode(ab)[0, :, 0, 0]
    nearest = np.argmin(((centres - (3, 41)) ** 2).sum(1))
    assert tuple(centres[nearest]) == (0, 40) and np.argmax(weights) == nearest
    second = int(np.argsort(-weights)[1])
    d1, d2 = [((centres[i] - (3, 41)) ** 2).sum() for i in (nearest, second)]
    assert weights[second] / weights[nearest] == pytest.approx(np.exp(-(d2 - d1) / 50.0), rel=1e-5)


def test_prior_boost_weights_average_to_one_under_the_prior():
    prior = np.load(REPO_ROOT / "data/prior_probs.npy")
    assert prior.shape == (313,) and prior.sum() == pytest.approx(1.0)
    for lam in (0.0, 0.5, 1.0):
        weights = lab313.prior_boost_weights(prior, lam)
        assert (prior * weights).sum() == pytest.approx(1.0)
    weights = lab313.prior_boost_weights(prior, 0.5)
    assert weights[np.argmin(prior)] > weights[np.argmax(prior)]  # rare colours pull harder
    with pytest.raises(ValueError, match="distribution"):
        lab313.prior_boost_weights(prior * 2)


def test_non_grey_mask_is_zero_on_grey_and_one_on_colour():
    grey_bgr = np.full((1, 3, 8, 8), 120.0)
    colour_bgr = grey_bgr.copy()
    colour_bgr[0, 2, 3, 3] = 250  # one red pixel
    ab = lab313.bgr_to_lab(np.concatenate([grey_bgr, colour_bgr]))[:, 1:]
    mask = lab313.non_grey_mask(ab, 5.0)
    assert mask.shape == (2, 1, 8, 8)
    assert np.all(mask[0] == 0) and np.all(mask[1] == 1)


def test_soft_cross_entropy_value_and_gradient_by_finite_differences():
    rng = np.random.default_rng(4)
    scores = rng.normal(size=(2, 6, 3, 2))
    targets = rng.dirichlet(np.ones(6), size=(2, 3, 2)).transpose(0, 3, 1, 2)
    loss, gradient = lab313.soft_cross_entropy(scores, targets)
    probs = np.exp(scores) / np.exp(scores).sum(axis=1, keepdims=True)
    assert loss == pytest.approx(-(targets * np.log(probs)).sum() / 2)
    numeric = np.zeros_like(scores)
    step = 1e-5
    for index in np.ndindex(scores.shape):
        plus, minus = scores.copy(), scores.copy()
        plus[index] += step
        minus[index] -= step
        numeric[index] = (lab313.soft_cross_entropy(plus, targets)[0] - lab313.soft_cross_entropy(minus, targets)[0]) / (2 * step)
    np.testing.assert_allclose(gradient, numeric, atol=1e-6)


def test_annealed_mean_at_low_temperature_is_the_mode(centres):
    probabilities = np.full((1, 313, 1, 1), 0.5 / 312)
    probabilities[0, 200] = 0.5
    np.testing.assert_allclose(annealed_mean(probabilities, centres, 0.01)[0, :, 0, 0], centres[200], atol=1e-3)
    mean = annealed_mean(probabilities, centres, 1.0)[0, :, 0, 0]
    np.testing.assert_allclose(mean, (probabilities[0, :, 0, 0] @ centres), atol=1e-6)


# --- Caffe adapters -------------------------------------------------------------------------

def python_net(layer, bottoms, tops, param_str="", extra=""):
    inputs = "".join(
        f'layer {{ name: "{name}" type: "Input" top: "{name}" input_param {{ shape {{ {" ".join(f"dim: {d}" for d in shape)} }} }} }}\n'
        for name, shape in bottoms)
    bottom_lines = " ".join(f'bottom: "{name}"' for name, _ in bottoms)
    top_lines = " ".join(f'top: "{name}"' for name in tops)
    return (f'force_backward: true\n{inputs}layer {{ name: "under_test" type: "Python" {bottom_lines} {top_lines} {extra}\n'
            f'  python_param {{ module: "layers.caffe_layers" layer: "{layer}" param_str: \'{param_str}\' }} }}\n')


def test_caffe_lab_layers_forward(caffe, write_net):
    bgr = np.random.default_rng(5).integers(0, 256, (2, 3, 8, 8)).astype(np.float32)
    net = caffe.Net(write_net(python_net("BGR2LabLayer", [("bgr", [2, 3, 8, 8])], ["lab"])), caffe.TEST)
    net.blobs["bgr"].data[...] = bgr
    np.testing.assert_allclose(net.forward()["lab"], lab313.bgr_to_lab(bgr), atol=1e-4)

    ab = lab313.bgr_to_lab(bgr)[:, 1:]
    net = caffe.Net(write_net(python_net("NNEncLayer", [("ab", [2, 2, 8, 8])], ["encoded"], '{"k": 3, "sigma": 4}')), caffe.TEST)
    net.blobs["ab"].data[...] = ab
    encoded = net.forward()["encoded"]
    assert encoded.shape == (2, 313, 8, 8) and np.all((encoded > 0).sum(axis=1) == 3)

    net = caffe.Net(write_net(python_net("PriorBoostLayer", [("encoded", [2, 313, 8, 8])], ["boost"], '{"lambda": 0.5}')), caffe.TEST)
    net.blobs["encoded"].data[...] = encoded
    weights = lab313.prior_boost_weights(np.load(REPO_ROOT / "data/prior_probs.npy"), 0.5)
    np.testing.assert_allclose(net.forward()["boost"][:, 0], weights[encoded.argmax(axis=1)], rtol=1e-5)

    net = caffe.Net(write_net(python_net("NonGrayMaskLayer", [("ab", [2, 2, 8, 8])], ["mask"])), caffe.TEST)
    net.blobs["ab"].data[...] = 0
    net.blobs["ab"].data[1, 0, 0, 0] = 20
    mask = net.forward()["mask"]
    assert np.all(mask[0] == 0) and np.all(mask[1] == 1)


def test_caffe_soft_loss_and_rebalance_gradients_by_finite_differences(caffe, write_net):
    """Scores → ClassRebalanceMult (weights) → soft cross-entropy: the Caffe gradient matches
    finite differences of the numpy loss, scaled by the per-pixel weights."""
    shape = [2, 5, 3, 3]
    text = python_net("ClassRebalanceMultLayer", [("scores", shape), ("weights", [2, 1, 3, 3])], ["boosted"],
                      extra='propagate_down: true propagate_down: false')
    text += ('layer { name: "targets" type: "Input" top: "targets" input_param { shape { dim: 2 dim: 5 dim: 3 dim: 3 } } }\n'
             'layer { name: "loss" type: "Python" bottom: "boosted" bottom: "targets" top: "loss" loss_weight: 1 '
             'propagate_down: true propagate_down: false '
             'python_param { module: "layers.caffe_layers" layer: "SoftmaxCrossEntropyLossLayer" } }\n')
    net = caffe.Net(write_net(text), caffe.TRAIN)
    rng = np.random.default_rng(6)
    scores = rng.normal(size=shape)
    targets = rng.dirichlet(np.ones(5), size=(2, 3, 3)).transpose(0, 3, 1, 2)
    weights = rng.uniform(0.2, 3.0, (2, 1, 3, 3))
    net.blobs["scores"].data[...] = scores
    net.blobs["targets"].data[...] = targets
    net.blobs["weights"].data[...] = weights
    loss = float(net.forward()["loss"][0])
    assert loss == pytest.approx(lab313.soft_cross_entropy(scores, targets)[0], rel=1e-5)  # forward is unweighted
    net.backward()
    numeric = np.zeros_like(scores)
    for index in np.ndindex(scores.shape):
        plus, minus = scores.copy(), scores.copy()
        plus[index] += 1e-4
        minus[index] -= 1e-4
        numeric[index] = (lab313.soft_cross_entropy(plus, targets)[0] - lab313.soft_cross_entropy(minus, targets)[0]) / 2e-4
    np.testing.assert_allclose(net.blobs["scores"].diff, numeric * weights, rtol=1e-3, atol=1e-6)


@pytest.mark.parametrize("layer, bottoms, tops, param_str, message", [
    ("BGR2LabLayer", [("x", [1, 3, 2, 2])], ["a", "b"], "", r"BGR2LabLayer: needs 1 bottom\(s\) and 1 top\(s\), got 1 and 2"),
    ("BGR2LabLayer", [("x", [1, 2, 2, 2])], ["a"], "", r"BGR2LabLayer: bottom must be N×3×H×W"),
    ("NNEncLayer", [("x", [1, 2, 2, 2])], ["a"], '{"k": 0}', r"NNEncLayer: k must be 1\.\.313"),
    ("NNEncLayer", [("x", [1, 2, 2, 2])], ["a"], '{"sigma": "five"}', r"NNEncLayer: parameter 'sigma' must be float"),
    ("NNEncLayer", [("x", [1, 2, 2, 2])], ["a"], '{"centres": "no/such.npy"}', r"NNEncLayer: .*no/such.npy"),
    ("PriorBoostLayer", [("x", [1, 313, 2, 2])], ["a"], '{"gamma": 0.5}', r"PriorBoostLayer: unknown parameter\(s\) \['gamma'\]"),
    ("PriorBoostLayer", [("x", [1, 64, 2, 2])], ["a"], "", r"PriorBoostLayer: bottom has 64 channels, the prior 313 bins"),
    ("NonGrayMaskLayer", [("x", [1, 2, 2, 2]), ("y", [1, 2, 2, 2])], ["a"], "", r"NonGrayMaskLayer: needs 1 bottom"),
    ("NonGrayMaskLayer", [("x", [1, 2, 2, 2])], ["a"], "[5]", r"NonGrayMaskLayer: param_str must be a JSON object"),
    ("ClassBoostLayer", [("x", [1, 2, 2, 2])], ["a"], "", r"ClassBoostLayer: bottom must be N×1×H×W class labels"),
    ("ClassBoostLayer", [("x", [1, 1, 2, 2])], ["a"], '{"prior": "no/such.npy"}', r"ClassBoostLayer: no/such.npy: "),
    ("ClassBoostLayer", [("x", [1, 1, 2, 2])], ["a"], '{"lambda": 2}', r"ClassBoostLayer: .*lambda must be in 0\.\.1"),
    ("ClassBoostLayer", [("x", [1, 1, 2, 2])], ["a"], '{"ignore": 36}', r"ClassBoostLayer: unknown parameter\(s\) \['ignore'\]"),
    ("SoftmaxCrossEntropyLossLayer", [("x", [1, 4, 2, 2])], ["a"], "", r"SoftmaxCrossEntropyLossLayer: needs 2 bottom"),
    ("SoftmaxCrossEntropyLossLayer", [("x", [1, 4, 2, 2]), ("y", [1, 5, 2, 2])], ["a"], "", r"differ in shape"),
])
def test_layers_fail_clearly(caffe, write_net, layer, bottoms, tops, param_str, message):
    with pytest.raises(ValueError, match=message):
        caffe.Net(write_net(python_net(layer, bottoms, tops, param_str)), caffe.TEST)


@pytest.mark.parametrize("compiled", [False, True], ids=["numpy", "numba"])
def test_encoding_into_a_reused_buffer_clears_what_it_wrote_before(centres, compiled):
    """The layer writes into its top blob every iteration and clears only last time's entries."""
    rng = np.random.default_rng(9)
    encoder = lab313.SoftEncoder(centres, k=5, sigma=5.0, compiled=compiled)
    buffer = np.full((2, 313, 4, 4), 7.0, dtype=np.float32)  # stale garbage: cleared on first use
    for _ in range(3):
        ab = rng.uniform(-100, 100, (2, 2, 4, 4))
        expected = lab313.SoftEncoder(centres, 5, 5.0, compiled=compiled).encode(ab)
        np.testing.assert_array_equal(encoder.encode(ab, out=buffer), expected)
    with pytest.raises(ValueError, match="C-contiguous float32"):
        encoder.encode(ab, out=np.zeros((2, 313, 4, 4)))


@pytest.mark.parametrize("k", [5, 10])
def test_compiled_soft_encoding_equals_the_numpy_version_on_photos(centres, k):
    """Same bins for every pixel (ties included: flat grey has four bins at exactly 10) and the
    same weights to float32 rounding, on ab of real photos with exactly grey patches."""
    import cv2
    import skimage
    data = pathlib.Path(skimage.__file__).parent / "data"
    photos = [cv2.resize(cv2.imread(str(data / name)), (48, 48)) for name in ("astronaut.png", "coffee.png")]
    photos[1][:16] = 128
    ab = lab313.bgr_to_lab(np.stack(photos).transpose(0, 3, 1, 2))[:, 1:]
    compiled = lab313.SoftEncoder(centres, k, 5.0, compiled=True).encode(ab)
    reference = lab313.SoftEncoder(centres, k, 5.0, compiled=False).encode(ab)
    np.testing.assert_array_equal(compiled > 0, reference > 0)
    np.testing.assert_allclose(compiled, reference, rtol=1e-5, atol=1e-7)


def test_compute_prior_skips_an_unreadable_photo_and_keeps_the_rest(tmp_path):
    import skimage
    from colornet.data import prior as compute_prior
    data = pathlib.Path(skimage.__file__).parent / "data"
    photos = tmp_path / "photos"
    photos.mkdir()
    (photos / "a_broken.png").write_bytes(b"not an image")
    for name in ("astronaut.png", "coffee.png"):
        (photos / name).write_bytes((data / name).read_bytes())
    out = tmp_path / "prior.npy"
    assert len(compute_prior.compute_prior([photos], out, side=64)) == 1  # one photo skipped
    skipped = []
    names = [name for name, _ in compute_prior.images_from([str(photos)], 64, skipped)]
    assert [pathlib.Path(n).name for n in names] == ["astronaut.png", "coffee.png"] and len(skipped) == 1
    prior = np.load(out)
    assert prior.shape == (313,) and prior.sum() == pytest.approx(1.0)
    assert (out.with_suffix(".png")).exists()


def annealed_mean(probabilities, centres, temperature):
    """Test oracle: N×Q×H×W probabilities → N×2×H×W ab, the mean of the bins under p^(1/T)
    renormalised, written from the definition (not through the decoders' shared softmax)."""
    annealed = np.power(np.asarray(probabilities, np.float64), 1.0 / temperature)
    annealed /= annealed.sum(axis=1, keepdims=True)
    return np.einsum("nqhw,qc->nchw", annealed, np.asarray(centres, np.float64))
