"""The stock-layer Lab/313 net: its target side and loss against the numpy reference, no Python
layer anywhere in it, and the Lab LMDB read back through Caffe's Data layer."""
import pathlib

import numpy as np
import pytest
from google.protobuf import text_format

from colornet.colour import lab313
from tests.conftest import REPO_ROOT
from tests.helpers import with_input_instead_of_data
from colornet.data import lmdb_writer as gen_lmdb
from colornet.nets import lab313 as lab313_nets
from colornet.data.samples import photo_samples

CONSTANTS = REPO_ROOT / "prototxt" / lab313_nets.STOCK_CONSTANTS
STOCK_NETS = sorted(REPO_ROOT.glob("prototxt/*lab313_stock*.prototxt"))  # the squeeze ones: test_squeeze_stock.py


@pytest.fixture(scope="module")
def centres():
    return lab313.load_centres()


def skimage_photos():
    import skimage
    data = pathlib.Path(skimage.__file__).parent / "data"
    return [data / name for name in ("astronaut.png", "chelsea.png", "coffee.png", "rocket.jpg")]


def lab8_crops(side):
    """Real photos resized to side², as the Lab LMDB stores them: N×3×side×side uint8."""
    import cv2
    crops = [lab313.bgr8_to_lab8(cv2.resize(cv2.imread(str(path)), (side, side), interpolation=cv2.INTER_AREA))
             for path in skimage_photos()]
    return np.stack(crops).transpose(0, 3, 1, 2)


def test_generated_stock_nets_have_no_python_layer():
    from caffe.proto import caffe_pb2
    names = {path.name for path in STOCK_NETS}
    assert {"train_val_lab313_stock.prototxt", "train_val_lab313_stock_lite.prototxt",
            "solver_lab313_stock.prototxt", "solver_lab313_stock_lite.prototxt"} <= names
    for path in STOCK_NETS:
        if path.name.startswith("solver"):
            solver = caffe_pb2.SolverParameter()
            text_format.Parse(path.read_text(), solver)
            assert list(solver.weights) == [f"prototxt/{lab313_nets.STOCK_CONSTANTS}"]
            continue
        net = caffe_pb2.NetParameter()
        text_format.Parse(path.read_text(), net)
        types = {layer.type for layer in net.layer}
        assert "Python" not in types, path.name
        assert {"Exp", "Log", "Tile", "Pooling", "Reduction", "AbsVal", "Clip", "Scale"} <= types


def test_stock_nets_share_the_deploy_nets_trunk_names():
    from caffe.proto import caffe_pb2

    def learned(name):
        net = caffe_pb2.NetParameter()
        text_format.Parse((REPO_ROOT / "prototxt" / name).read_text(), net)
        return {layer.name for layer in net.layer if layer.type in ("Convolution", "Deconvolution", "BatchNorm")
                and not (layer.param and layer.param[0].lr_mult == 0 and layer.type != "BatchNorm")}

    for suffix in ("", "_lite"):
        deploy = learned(f"deploy_lab313{suffix}.prototxt")
        assert deploy == learned(f"train_val_lab313_stock{suffix}.prototxt") == learned(f"train_val_lab313{suffix}.prototxt")


@pytest.fixture
def stock_net(caffe, tmp_path):
    """The lite stock train net with an Input for its Lab data (4 × 3 × 176²) and its constants."""
    path = with_input_instead_of_data(REPO_ROOT / "prototxt/train_val_lab313_stock_lite.prototxt", [4, 3, 176, 176], tmp_path)
    return caffe.Net(path, caffe.TRAIN, weights=str(CONSTANTS))


def test_stock_target_side_equals_the_numpy_reference_on_real_photos(stock_net, centres):
    lab8 = lab8_crops(176)
    lab8[1, 1:] = 128  # one photo exactly grey: its pixels must weigh 0
    stock_net.blobs["data"].data[...] = lab8
    stock_net.forward()
    lab = lab8_to_lab(lab8)
    np.testing.assert_allclose(stock_net.blobs["data_l"].data, lab[:, :1], atol=1e-4)
    ab = lab[:, 1:, ::4, ::4]
    np.testing.assert_array_equal(stock_net.blobs["data_ab_ss"].data, ab)

    encoded = lab313.gaussian_encode(ab, centres, lab313_nets.LAB_SIGMA)
    normalised = stock_net.blobs["gt_ab_gauss"].data * stock_net.blobs["gauss_total_inverse"].data
    np.testing.assert_allclose(normalised, encoded, atol=1e-5)
    bin_weights = lab313.prior_boost_weights(np.load(REPO_ROOT / lab313.DEFAULT_PRIOR), lab313_nets.LAB_BOOST_LAMBDA)
    mask = lab313.non_grey_mask(ab, lab313_nets.LAB_GREY_THRESHOLD)
    assert mask[1].max() == 0 and mask[[0, 2, 3]].min() == 1
    sharp = lab313.gaussian_encode(ab, centres, lab313_nets.LAB_BOOST_SIGMA)
    expected = lab313.smooth_prior_boost(sharp, bin_weights) * mask
    # The soft argmax's Exp scales the float32 logits by 25, and their rounding with them: 2.3e-5
    # relative at most on these photos (5 of 7,744 pixels above 1e-5).
    np.testing.assert_allclose(stock_net.blobs["prior_boost_nongray"].data, expected, rtol=3e-5, atol=1e-5)
    # and that soft argmax is close to the reference's weight of the 5-nearest encoding's argmax
    # (8-bit Lab has whole a, b: many pixels sit exactly halfway between two bins, where the
    # reference's argmax picks one and the soft one averages both)
    exact = lab313.prior_boost(lab313.SoftEncoder(centres, 5, 5.0, compiled=False).encode(ab), bin_weights)
    coloured = mask[:, 0] > 0
    relative = np.abs(stock_net.blobs["prior_boost"].data - exact)[:, 0][coloured] / exact[:, 0][coloured]
    assert relative.mean() < 0.1 and np.median(relative) < 0.01


def test_stock_loss_value_and_gradient_equal_the_reference(caffe, tmp_path):
    """The loss part of the stock net alone (Inputs for scores, targets and pixel weights): the
    value is the weighted soft cross-entropy, and its gradient to conv8_313 equals the reference's
    (the Python net's weighted gradient) and finite differences through Caffe."""
    from caffe import layers as L, params as P
    shape = [2, 313, 3, 3]
    ns = caffe.NetSpec()
    ns.conv8_313 = L.Input(shape=dict(dim=shape))
    ns.gauss = L.Input(shape=dict(dim=shape))
    ns.inverse = L.Input(shape=dict(dim=[2, 1, 3, 3]))
    ns.weights = L.Input(shape=dict(dim=[2, 1, 3, 3]))
    lab313_nets.stock_loss(L, P, ns, ns.conv8_313, ns.gauss, ns.inverse, ns.weights, 3)
    path = tmp_path / "loss.prototxt"
    path.write_text('force_backward: true\n' + str(ns.to_proto()))
    net = caffe.Net(str(path), caffe.TRAIN)
    rng = np.random.default_rng(3)
    scores = rng.normal(0, 2, shape)
    targets = lab313.gaussian_encode(rng.uniform(-60, 60, (2, 2, 3, 3)), lab313.load_centres())
    weights = rng.uniform(0.2, 3.0, (2, 1, 3, 3))
    totals = rng.uniform(0.6, 2.0, (2, 1, 3, 3))  # the net's targets come unnormalised, with 1/Σ
    for name, value in (("conv8_313", scores), ("gauss", targets * totals), ("inverse", 1 / totals),
                        ("weights", weights)):
        net.blobs[name].data[...] = value

    def reference(z):
        log_p = log_softmax(z)
        return -(weights * (targets * log_p).sum(axis=1, keepdims=True)).sum() / 2

    net.forward()
    assert float(net.blobs["loss8_313_boosted"].data) == pytest.approx(reference(scores), rel=1e-5)
    assert float(net.blobs["loss8_313"].data) == pytest.approx(lab313.soft_cross_entropy(scores, targets)[0], rel=1e-5)
    net.backward()
    gradient = net.blobs["conv8_313"].diff.copy()
    np.testing.assert_allclose(gradient, lab313.soft_cross_entropy(scores, targets)[1] * weights, rtol=1e-3, atol=1e-7)

    def caffe_loss(z):
        net.blobs["conv8_313"].data[...] = z
        net.forward()
        return float(net.blobs["loss8_313_boosted"].data)

    # Scores far apart (an untrained net's val pass reached losses of 40 nats a pixel): exp of the
    # scores shifted by their maximum cannot overflow, and the value stays the reference's.
    wild = scores * 60
    net.blobs["conv8_313"].data[...] = wild
    net.forward()
    net.backward()
    assert float(net.blobs["loss8_313_boosted"].data) == pytest.approx(reference(wild), rel=1e-4)
    assert np.isfinite(net.blobs["conv8_313"].diff).all()
    net.blobs["conv8_313"].data[...] = scores
    net.forward()
    net.backward()

    # The forward runs in float32 (loss ~50, resolution ~4e-6): a large step, and the entries with
    # the largest gradients (the targets' main bins), where that resolution does not matter.
    step = 0.05
    largest = np.argsort(np.abs(gradient).ravel())[-4:]
    for index in map(tuple, np.array(np.unravel_index(largest, gradient.shape)).T):
        plus, minus = scores.copy(), scores.copy()
        plus[index] += step
        minus[index] -= step
        numeric = (caffe_loss(plus) - caffe_loss(minus)) / (2 * step)
        assert gradient[index] == pytest.approx(numeric, rel=1e-2)


def test_soft_encoding_over_all_bins_puts_little_mass_outside_the_nearest_five(centres):
    ab = lab8_to_lab(lab8_crops(64))[:, 1:]
    encoded = lab313.gaussian_encode(ab, centres, 5.0)
    nearest_five = np.sort(encoded, axis=1)[:, -5:].sum(axis=1)
    outside = 1 - nearest_five
    # Measured: 4.8 % on average, at most 7.1 % (the next ring of bins is only 10–14 away, σ = 5).
    assert 0.03 < outside.mean() < 0.06 and outside.max() < 0.08
    # and the same nearest bin as the reference's encoding everywhere but near ties
    reference = lab313.SoftEncoder(centres, 5, 5.0, compiled=False).encode(ab)
    assert (reference.argmax(axis=1) == encoded.argmax(axis=1)).mean() > 0.99


def test_lab_lmdb_reads_back_through_caffe_within_the_rounding_error(caffe, tmp_path, write_net):
    path = tmp_path / "lab_lmdb"
    photos = [str(p) for p in skimage_photos()]
    gen_lmdb.write_records(gen_lmdb.build, gen_lmdb.RecordOptions(photos, path, format="lab", size=96, resize="stretch",
                                                                  crops_per_photo=0, quiet=True))
    net = caffe.Net(write_net(f'layer {{ name: "data" type: "Data" top: "data" data_param {{ source: "{path}" '
                              f'backend: LMDB batch_size: 4 }} }}'), caffe.TEST)
    records = net.forward()["data"]
    lab = lab8_to_lab(records)
    truth = {}
    for index, photo in enumerate(photos):
        bgr, = photo_samples(photo, index, 96, "stretch", 0, seed=0)  # the sample gen_lmdb stored
        truth[photo] = lab313.bgr_to_lab(bgr[None].transpose(0, 3, 1, 2))[0]
    for record in lab:  # records are shuffled: match each to its photo
        errors = [np.abs(record - reference).reshape(3, -1).max(axis=1) for reference in truth.values()]
        best = min(errors, key=lambda e: e.sum())
        assert np.all(best <= np.array(lab313.LAB8_MAX_ERROR) + 1e-4), best


# Test oracles, written from the definitions (not used by the product).
def log_softmax(scores, axis=1):
    shifted = scores - scores.max(axis=axis, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=axis, keepdims=True))

def lab8_to_lab(lab8):
    """N×3×H×W 8-bit Lab (any dtype) → N×3×H×W float32 Lab."""
    lab = np.asarray(lab8, dtype=np.float32).copy()
    lab[:, 0] /= lab313.LAB8_L_SCALE
    lab[:, 1:] -= lab313.LAB8_AB_OFFSET
    return lab
