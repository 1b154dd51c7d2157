"""Generated nets: no drift from the generator, shapes, forward/backward, and a short training."""
import pathlib
import re

import numpy as np
import pytest
from google.protobuf import text_format

from tests.conftest import REPO_ROOT, convolution_weights, make_dry_run, run_tool
from colornet.nets import color as color_nets, fcn as fcn_nets
from tests.helpers import solver_on_tiny_lmdb, with_input_instead_of_data


def test_committed_prototxt_matches_the_generator(tmp_path):
    result = run_tool("make_prototxt", "--output", tmp_path)
    assert result.returncode == 0, result.stderr
    generated = sorted(str(p.relative_to(tmp_path)) for p in tmp_path.rglob("*") if p.is_file())
    assert generated and any(name.startswith("experiments/") for name in generated)
    for name in generated:
        committed = REPO_ROOT / "prototxt" / name
        assert committed.exists(), f"{name} is generated but not committed"
        assert committed.read_bytes() == (tmp_path / name).read_bytes(), f"{name} drifted from the generator"


@pytest.mark.parametrize("suffix, batch", [("", 1), ("_lite", 2)])
def test_color_net_shapes_forward_backward_at_224(caffe, tmp_path, suffix, batch):
    path = with_input_instead_of_data(REPO_ROOT / f"prototxt/train_val_color{suffix}.prototxt", [batch, 2, 224, 224], tmp_path)
    net = caffe.Net(path, caffe.TRAIN)
    rng = np.random.default_rng(0)
    net.blobs["data"].data[:, 0] = rng.integers(0, 256, (batch, 224, 224))
    net.blobs["data"].data[:, 1] = rng.integers(0, 64, (batch, 224, 224))
    net.forward()
    assert net.blobs["label_uv2"].data.shape[2:] == (113, 113)
    assert net.blobs["label_uv3"].data.shape[2:] == (112, 112)
    assert net.blobs["conv9_1"].data.shape == (batch, 64, 112, 112)
    assert np.isfinite(net.blobs["loss"].data).all() and net.blobs["loss"].data > 0
    net.backward()
    gradient = net.params["bw_conv1_1"][0].diff
    assert np.isfinite(gradient).all() and np.abs(gradient).sum() > 0
    # Y is centred by the frozen Scale in the net itself.
    np.testing.assert_allclose(net.blobs["data_y_centred"].data, net.blobs["data_y"].data - 127)


@pytest.mark.parametrize("family, net_name, boost_lambda", [
    ("color", "color_lite", color_nets.COLOR_BOOST_LAMBDA),
    *(("color", f"color_lite_{stage}", boost_lambda)
      for stage, (boost_lambda, _) in color_nets.COLOR_REBALANCE_STAGES.items()),
    ("fcn", "fcn_lite", fcn_nets.FCN_BOOST_LAMBDA)])
def test_yuv64_loss_gradient_is_rebalanced_by_class(caffe, tmp_path, family, net_name, boost_lambda):
    """The gradient reaching the scores is the plain softmax loss's, (p − onehot)/valid pixels,
    times the prior boost of each pixel's class where the net is rebalanced (make_prototxt's
    *_BOOST_LAMBDA); grey pixels get none; the loss Caffe reports is the plain one."""
    from colornet.colour import yuv64
    path = with_input_instead_of_data(REPO_ROOT / f"prototxt/train_val_{net_name}.prototxt", [1, 2, 64, 64], tmp_path)
    net = caffe.Net(path, caffe.TRAIN)
    rng = np.random.default_rng(4)
    net.blobs["data"].data[:, 0] = rng.integers(0, 256, (1, 64, 64))
    net.blobs["data"].data[:, 1] = rng.choice([36, 29, 30, 22, 50, 9], size=(1, 64, 64), p=[.2, .3, .2, .1, .1, .1])
    net.forward()
    scores_name, label_name = ("conv9_1", "label_uv3") if family == "color" else ("score", "label_uv")
    scores = net.blobs[scores_name].data.astype(np.float64)
    labels = net.blobs[label_name].data[:, 0].astype(int)
    probabilities = np.exp(scores - scores.max(axis=1, keepdims=True))
    probabilities /= probabilities.sum(axis=1, keepdims=True)
    valid = labels != 36
    picked = np.take_along_axis(probabilities, labels[:, None], axis=1)[:, 0]
    assert float(net.blobs["loss"].data) == pytest.approx(-np.log(picked[valid]).mean(), rel=1e-4)
    net.backward()
    plain = probabilities - np.eye(64)[labels].transpose(0, 3, 1, 2)
    plain *= valid[:, None] / valid.sum()
    if boost_lambda is None:  # the plain loss
        weights = np.ones(64)
    else:
        weights = yuv64.class_boost_weights(np.load(REPO_ROOT / "data/yuv64_prior_probs.npy"), boost_lambda, 36)
        assert weights[22] > weights[29]  # a rarer class pulls harder than the most frequent one
    expected = plain * weights[labels][:, None]
    np.testing.assert_allclose(net.blobs[scores_name].diff, expected, rtol=1e-3, atol=1e-9)


@pytest.mark.parametrize("suffix", ["", "_lite"])
def test_color_deploy_output(caffe, suffix):
    net = caffe.Net(str(REPO_ROOT / f"prototxt/deploy_color{suffix}.prototxt"), caffe.TEST)
    net.blobs["data_y"].data[...] = 127
    output = net.forward()["prob"]
    assert output.shape == (1, 64, 112, 112)
    np.testing.assert_allclose(output.sum(axis=1), 1.0, rtol=1e-4)


def assert_trains(net, first_layer, loss_blob="loss"):
    loss = float(net.blobs[loss_blob].data.ravel()[0])
    assert np.isfinite(loss) and loss > 0
    net.backward()
    gradient = net.params[first_layer][0].diff
    assert np.isfinite(gradient).all() and np.abs(gradient).sum() > 0


@pytest.mark.parametrize("suffix, batch, side", [pytest.param("", 1, 224, marks=pytest.mark.slow),  # full size: 14 s
                                                 ("_lite", 2, 128)])
def test_fcn_shapes_forward_backward(caffe, tmp_path, suffix, batch, side):
    path = with_input_instead_of_data(REPO_ROOT / f"prototxt/train_val_fcn{suffix}.prototxt", [batch, 2, side, side], tmp_path)
    net = caffe.Net(path, caffe.TRAIN)
    rng = np.random.default_rng(0)
    net.blobs["data"].data[:, 0] = rng.integers(0, 256, (batch, side, side))
    net.blobs["data"].data[:, 1] = rng.integers(0, 64, (batch, side, side))
    net.forward()
    assert net.blobs["score"].data.shape == (batch, 64, side, side)
    assert_trains(net, "conv1_1")
    # No dead path: every learnable layer, the upsampling included, starts non-zero and gets a gradient.
    for name, params in net.params.items():
        if name.startswith(("conv", "fc", "score", "upscore")):
            assert np.abs(params[0].data).sum() > 0, f"{name} starts at zero"
            assert np.abs(params[0].diff).sum() > 0, f"{name} gets no gradient"


def test_fcn_upsampling_is_bilinear_per_class(caffe):
    net = caffe.Net(str(REPO_ROOT / "prototxt/deploy_fcn_lite.prototxt"), caffe.TEST)
    weights = net.params["upscore2"][0].data
    assert weights.shape == (64, 1, 4, 4)  # grouped: each class upsampled on its own
    profile = np.array([0.25, 0.75, 0.75, 0.25])
    np.testing.assert_allclose(weights[5, 0], np.outer(profile, profile), atol=1e-6)


@pytest.mark.parametrize("suffix", ["", "_lite"])
def test_fcn_deploy_output_is_full_resolution(caffe, suffix):
    net = caffe.Net(str(REPO_ROOT / f"prototxt/deploy_fcn{suffix}.prototxt"), caffe.TEST)
    net.blobs["data_y"].data[...] = np.random.default_rng(1).integers(0, 256, (1, 1, 224, 224))
    output = net.forward()["prob"]
    assert output.shape == (1, 64, 224, 224)
    np.testing.assert_allclose(output.sum(axis=1), 1.0, rtol=1e-4)


def test_color_hdf5_net_reads_data_and_label_tops(caffe, tmp_path):
    path = with_input_instead_of_data(REPO_ROOT / "prototxt/train_val_color_hdf5.prototxt", [1, 1, 224, 224], tmp_path,
                                      label_shape=[1, 1, 224, 224])
    net = caffe.Net(path, caffe.TRAIN)
    rng = np.random.default_rng(2)
    net.blobs["data"].data[...] = rng.integers(0, 256, (1, 1, 224, 224))
    net.blobs["label"].data[...] = rng.integers(0, 64, (1, 1, 224, 224))
    net.forward()
    assert net.blobs["label_uv3"].data.shape[2:] == (112, 112)
    assert net.blobs["conv9_1"].data.shape == (1, 64, 112, 112)
    assert_trains(net, "bw_conv1_1")


def test_color_l2_targets_are_opencv_yuv(caffe, tmp_path):
    """The regression net derives Y and centred U, V from BGR with fixed Eltwise coefficients."""
    import cv2
    path = with_input_instead_of_data(REPO_ROOT / "prototxt/experiments/train_val_color_l2.prototxt", [1, 3, 224, 224], tmp_path)
    net = caffe.Net(path, caffe.TRAIN)
    bgr = np.random.default_rng(3).integers(0, 256, (224, 224, 3)).astype(np.uint8)
    net.blobs["data"].data[0] = bgr.transpose(2, 0, 1)
    net.forward()
    yuv = cv2.cvtColor(bgr, cv2.COLOR_BGR2YUV).astype(np.float64)
    np.testing.assert_allclose(net.blobs["data_y"].data[0, 0], yuv[..., 0], atol=1.0)
    for channel in (0, 1):
        target = net.blobs["target_uv"].data[0, channel] * 128
        opencv = yuv[..., 1 + channel] - 128
        # OpenCV saturates V (|.877(R − Y)| reaches 179) to the byte range; the target does not.
        inside = (opencv > -128) & (opencv < 127)
        assert inside.mean() > 0.9
        np.testing.assert_allclose(target[inside], opencv[inside], atol=1.0)
        assert np.all(np.abs(target[~inside]) >= 126)
    assert net.blobs["conv9_1"].data.shape == net.blobs["target_uv3"].data.shape == (1, 2, 112, 112)
    assert_trains(net, "bw_conv1_1")


@pytest.mark.slow  # a real training run
def test_lite_color_net_learns_in_30_iterations(caffe, tmp_path, tiny_lmdb):
    """30 CPU iterations on a tiny LMDB of real photos lower the loss (margin, not timed)."""
    solver = solver_on_tiny_lmdb(caffe, tmp_path, "color_lite", tiny_lmdb, batch=4, base_lr=0.001, max_iter=30)
    losses = []
    for _ in range(30):
        solver.step(1)
        losses.append(float(solver.net.blobs["loss"].data))
    assert np.mean(losses[-5:]) < 0.85 * np.mean(losses[:3]), losses


def test_lab313_lite_train_net_on_a_real_photo(caffe, tmp_path):
    import cv2
    import skimage
    path = with_input_instead_of_data(REPO_ROOT / "prototxt/train_val_lab313_lite.prototxt", [2, 3, 176, 176], tmp_path)
    net = caffe.Net(path, caffe.TRAIN)
    photo = cv2.imread(str(pathlib.Path(skimage.__file__).parent / "data" / "astronaut.png"))
    net.blobs["data"].data[0] = cv2.resize(photo, (176, 176)).transpose(2, 0, 1)
    net.blobs["data"].data[1] = 128  # a grey image: masked out of the rebalancing weights
    net.forward()
    assert net.blobs["data_ab_ss"].data.shape == (2, 2, 44, 44)
    np.testing.assert_array_equal(net.blobs["data_ab_ss"].data, net.blobs["data_ab"].data[:, :, ::4, ::4])
    assert net.blobs["gt_ab_313"].data.shape == (2, 313, 44, 44)
    assert net.blobs["conv8_313"].data.shape == (2, 313, 44, 44)
    weights = net.blobs["prior_boost_nongray"].data
    assert np.all(weights[1] == 0) and np.all(weights[0] > 0)
    np.testing.assert_allclose(net.blobs["data_l_centred"].data, net.blobs["data_l"].data - 50, atol=1e-4)
    assert_trains(net, "bw_conv1_1", loss_blob="loss8_313")
    assert np.all(net.blobs["conv8_313"].diff[1] == 0)  # the grey image pulls on nothing


@pytest.mark.parametrize("suffix", ["", "_lite"])
def test_lab313_deploy_gives_ab_at_a_quarter_of_the_input(caffe, suffix):
    from colornet.colour import lab313
    net = caffe.Net(str(REPO_ROOT / f"prototxt/deploy_lab313{suffix}.prototxt"), caffe.TEST)
    net.params["class8_ab"][0].data[...] = lab313.load_centres().T[:, :, None, None]
    net.blobs["data_l"].data[...] = 50
    ab = net.forward()["class8_ab"]
    assert ab.shape == (1, 2, 56, 56)
    assert np.all(np.abs(ab) < 128)
    assert float(net.params["conv8_313_rh"][0].data[0]) == pytest.approx(2.606)


def solver_settings(name):
    from caffe.proto import caffe_pb2
    solver = caffe_pb2.SolverParameter()
    text_format.Parse((REPO_ROOT / "prototxt" / name).read_text(), solver)
    return solver


@pytest.mark.parametrize("family, side", [("color", 128), ("fcn", 128), ("lab313", 176)])
def test_weight_decay_is_small_beside_the_data_gradient(caffe, tmp_path, family, side):
    """Caffe adds decay·w to the gradient before Adam rescales it, so a decay that is not far
    below the data gradient at the start wins once the loss flattens: with 1e-3 on the color
    net's per-pixel mean loss the deep weights shrank 14× and the net collapsed to one class.
    Rule: at initialisation, on real photos, decay·|w| is at most 1 % of |∂loss/∂w| in every
    convolution of every lite solver."""
    import cv2
    import skimage
    from colornet.colour.yuv64 import Codec
    solver = solver_settings(f"solver_{family}_lite.prototxt")
    assert solver.type == "Adam"
    channels = 3 if family == "lab313" else 2
    path = with_input_instead_of_data(REPO_ROOT / solver.net, [2, channels, side, side], tmp_path)
    caffe.set_random_seed(solver.random_seed)
    net = caffe.Net(path, caffe.TRAIN)
    data = pathlib.Path(skimage.__file__).parent / "data"
    for index, name in enumerate(("astronaut.png", "coffee.png")):
        photo = cv2.resize(cv2.imread(str(data / name)), (side, side), interpolation=cv2.INTER_AREA)
        net.blobs["data"].data[index] = photo.transpose(2, 0, 1) if channels == 3 else np.stack(Codec().encode_bgr(photo))
    net.forward()
    net.backward()
    worst = {}
    for layer, blobs in net.params.items():
        weights = blobs[0]
        if weights.data.ndim == 4 and weights.data.size > 1000 and np.any(weights.diff):
            gradient = np.sqrt(np.mean(weights.diff.astype(np.float64) ** 2))
            decay = solver.weight_decay * np.sqrt(np.mean(weights.data.astype(np.float64) ** 2))
            worst[layer] = decay / gradient
    assert len(worst) >= 15
    assert max(worst.values()) <= 0.01, sorted(worst.items(), key=lambda item: -item[1])[:3]


def test_train_color_second_stage_starts_from_the_first_stages_last_snapshot():
    """`make train-color` (lite) runs the plain solver, then the rebalanced one from the plain
    run's final weights: the path it passes must be the snapshot that the first solver writes last."""
    import re
    commands = make_dry_run("train-color")
    solvers = re.findall(r"train\.py prototxt/(\S+)", commands)
    assert solvers[0] == "solver_color_lite.prototxt" and len(solvers) == 2
    first, second = solver_settings(solvers[0]), solver_settings(solvers[1])
    weights = re.search(r"--weights (\S+)", commands).group(1)
    assert weights == f"{first.snapshot_prefix}_iter_{first.max_iter}.caffemodel"
    assert second.snapshot_prefix != first.snapshot_prefix  # its snapshots must not be taken for the first's
    rebalanced = (REPO_ROOT / second.net).read_text()
    assert "ClassBoostLayer" in rebalanced and "ClassBoostLayer" not in (REPO_ROOT / first.net).read_text()


def test_train_default_reproduces_the_shipped_snapshot():
    """`make train-default` trains, then exports the snapshot models/default was exported from,
    with the same deploy net, and that snapshot is one its last solver writes (the default is
    picked among a run's snapshots by the test split)."""
    import json
    commands = make_dry_run("train-default")
    card = json.loads((REPO_ROOT / "models/default/model.json").read_text())
    export = re.search(r"export_model\.py --deploy (\S+)\s+--weights (\S+)", commands)
    assert export, commands
    assert export.group(1) == card["deploy_source"]
    assert pathlib.Path(export.group(2)).name == card["snapshot"]
    trained = re.findall(r"train\.py (\S+)", commands[:export.start()])
    _assert_a_snapshot_of(trained[-1], export.group(2))
    # Then the hint net, trained from the exported weights, added with the card's weight and reach.
    hints = re.search(r"train\.py (\S+).*?export_model\.py --hint-net --deploy (\S+)\s+--weights (\S+)\s+-o models/default"
                      r"\s+--hint-weight (\S+) --hint-reach (\S+)", commands[export.end():], re.S)
    assert hints, commands
    assert hints.group(2) == card["hint_net"]["deploy_source"]
    assert pathlib.Path(hints.group(3)).name == card["hint_net"]["snapshot"]
    assert (float(hints.group(4)), float(hints.group(5))) == (card["hint_net"]["hint_weight"], card["hint_net"]["hint_reach"])
    _assert_a_snapshot_of(hints.group(1), hints.group(3))


def _assert_a_snapshot_of(solver_path, snapshot):
    solver = solver_settings(pathlib.Path(solver_path).name)
    iteration = int(re.search(r"_iter_(\d+)\.caffemodel$", snapshot).group(1))
    assert snapshot == f"{solver.snapshot_prefix}_iter_{iteration}.caffemodel"
    assert 0 < iteration <= solver.max_iter and iteration % solver.snapshot == 0


def test_classifier_only_stage_trains_conv9_1_and_nothing_else(caffe, tmp_path, tiny_lmdb):
    """The rebalance_head stage moves only the classifier: two Adam steps on real photos change
    conv9_1 and leave every other weight as it was (BatchNorm statistics aside)."""
    solver = solver_on_tiny_lmdb(caffe, tmp_path, "color_lite_rebalance_head", tiny_lmdb, batch=2, base_lr=0.01,
                                 max_iter=2)
    before = convolution_weights(solver.net)
    solver.step(2)
    after = convolution_weights(solver.net)
    changed = {name for name in before if not np.array_equal(before[name], after[name])}
    assert changed == {"conv9_1"}
