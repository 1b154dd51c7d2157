"""The hint-conditioned squeeze net: before training it is exactly the automatic net, whatever
the hints; a few real training steps (hints simulated from the crops' own colours) move only the
hints' gains, after which the hints lower the loss and change the colours, and without hints the
net is still exactly the automatic one."""
import numpy as np
import pytest

from tests.conftest import REPO_ROOT, convolution_weights
from tests.helpers import solver_on_tiny_lmdb
from colornet.nets import squeeze, squeezenet

HINT_LAYERS = {"hint_gain"}


def _hinted_net_from_default(caffe):
    net = caffe.Net(str(REPO_ROOT / "prototxt/deploy_squeeze_hints.prototxt"), caffe.TEST)
    net.copy_from(str(REPO_ROOT / "models/default/weights.caffemodel"))
    return net


def test_before_training_the_hinted_net_is_the_automatic_one_whatever_the_hints(caffe):
    automatic = caffe.Net(str(REPO_ROOT / "models/default/deploy.prototxt"),
                          str(REPO_ROOT / "models/default/weights.caffemodel"), caffe.TEST)
    hinted = _hinted_net_from_default(caffe)
    rng = np.random.default_rng(0)
    y = rng.integers(0, 256, (1, 1, 224, 224)).astype(np.float32)
    hints = np.zeros((1, 3, 224, 224), np.float32)
    hints[0, :, 100:110, 50:60] = [[[0.3]], [[-0.2]], [[1.0]]]
    automatic.blobs["data_y"].data[...] = y
    hinted.blobs["data_y"].data[...] = y
    hinted.blobs["hints"].data[...] = hints
    np.testing.assert_array_equal(hinted.forward()["prob"], automatic.forward()["prob"])


def _automatic_and_hinted(caffe, hinted_weights):
    automatic = caffe.Net(str(REPO_ROOT / "models/default/deploy.prototxt"),
                          str(REPO_ROOT / "models/default/weights.caffemodel"), caffe.TEST)
    hinted = caffe.Net(str(REPO_ROOT / "prototxt/deploy_squeeze_hints.prototxt"), str(hinted_weights), caffe.TEST)
    y = np.random.default_rng(1).integers(0, 256, (1, 1, 224, 224)).astype(np.float32)
    automatic.blobs["data_y"].data[...] = y
    hinted.blobs["data_y"].data[...] = y
    return automatic, hinted


def _losses_with_and_without_hints(net, batches):
    after = list(net._layer_names)[list(net._layer_names).index("hints") + 1]
    with_hints, without = [], []
    for _ in range(batches):
        net.forward()
        with_hints.append(float(net.blobs["loss"].data))
        net.blobs["hints"].data[...] = 0
        net.forward(start=after)
        without.append(float(net.blobs["loss"].data))
    return np.mean(with_hints), np.mean(without)


@pytest.mark.slow  # a real training run
def test_training_moves_only_the_hint_gains_and_the_hints_then_help(caffe, tmp_path, tiny_lmdb):
    solver = solver_on_tiny_lmdb(caffe, tmp_path, "squeeze_hints", tiny_lmdb, batch=4, base_lr=0.01, max_iter=20)
    solver.net.copy_from(str(REPO_ROOT / "models/default/weights.caffemodel"))
    before = convolution_weights(solver.net)
    solver.step(20)
    after = convolution_weights(solver.net)
    changed = {name for name in before if not np.array_equal(before[name], after[name])}
    assert changed == HINT_LAYERS
    with_hints, without = _losses_with_and_without_hints(solver.net, 4)
    assert with_hints < without - 0.01
    weights = tmp_path / "trained.caffemodel"
    solver.net.save(str(weights))
    automatic, hinted = _automatic_and_hinted(caffe, weights)
    plain = automatic.forward()["prob"]
    np.testing.assert_array_equal(hinted.forward()["prob"], plain)  # no hints: the automatic net's
    hinted.blobs["hints"].data[0, :, 100:110, 50:60] = np.array([0.3, -0.2, 1.0])[:, None, None]
    assert not np.allclose(hinted.forward()["prob"], plain)
