"""The hint-conditioned squeeze net: before training it is exactly the automatic net, whatever
the hints; a few real training steps (hints simulated from the crops' own colours) move only the
head and the hint branches, and afterwards the hints change the colours."""
import numpy as np
import pytest

from tests.conftest import REPO_ROOT, convolution_weights
from tests.helpers import solver_on_tiny_lmdb
from colornet.nets import squeeze, squeezenet

HINT_LAYERS = {"hints_global1", "hints_global2", "hints_local"}


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


@pytest.mark.slow  # a real training run
def test_training_moves_the_head_and_hint_branches_and_the_hints_then_count(caffe, tmp_path, tiny_lmdb):
    solver = solver_on_tiny_lmdb(caffe, tmp_path, "squeeze_hints", tiny_lmdb, batch=4, base_lr=0.001, max_iter=20)
    solver.net.copy_from(str(REPO_ROOT / "models/default/weights.caffemodel"))
    before = convolution_weights(solver.net)
    solver.step(20)
    after = convolution_weights(solver.net)
    changed = {name for name in before if not np.array_equal(before[name], after[name])}
    head = {f"{top}_reduce" for top in squeeze.HYPERCOLUMN} | {"head1", "head2", "scores"}
    trunk = {name for name, _ in squeezenet.layer_shapes()} - {"conv10"}
    assert HINT_LAYERS <= changed and head <= changed and not trunk & changed
    weights = tmp_path / "trained.caffemodel"
    solver.net.save(str(weights))
    net = caffe.Net(str(REPO_ROOT / "prototxt/deploy_squeeze_hints.prototxt"), str(weights), caffe.TEST)
    net.blobs["data_y"].data[...] = np.random.default_rng(1).integers(0, 256, (1, 1, 224, 224))
    plain = net.forward()["prob"].copy()
    net.blobs["hints"].data[0, :, 100:110, 50:60] = np.array([0.3, -0.2, 1.0])[:, None, None]
    assert not np.allclose(net.forward()["prob"], plain)
