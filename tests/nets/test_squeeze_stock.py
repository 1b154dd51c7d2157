"""The stock squeeze nets (no Python layers, for a CUDA caffe): the same rebalanced gradients as
the Python layers give, the same plain loss reported, and a few real solver steps."""
import numpy as np
import pytest

from colornet.colour import yuv64
from colornet.nets import squeeze
from colornet.nets.common import net_path
from tests.conftest import REPO_ROOT
from tests.helpers import solver_on_tiny_lmdb, with_input_instead_of_data

SIDE = 64


def _nets(caffe, tmp_path, stage, phase):
    nets = []
    for name in (f"train_val_squeeze_{stage}.prototxt", f"train_val_squeeze_{stage}_stock.prototxt"):
        folder = tmp_path / name.split(".")[0]
        folder.mkdir()
        nets.append(caffe.Net(with_input_instead_of_data(REPO_ROOT / net_path(name), [2, 2, SIDE, SIDE], folder), phase))
    python, stock = nets
    rng = np.random.default_rng(3)
    for layer, blobs in python.params.items():
        for index, blob in enumerate(blobs):
            blob.data[...] = rng.normal(0, 0.05, blob.data.shape)
            stock.params[layer][index].data[...] = blob.data
    data = np.zeros((2, 2, SIDE, SIDE), np.float32)
    data[:, 0] = rng.integers(0, 256, (2, SIDE, SIDE))
    data[:, 1] = rng.integers(0, 64, (2, SIDE, SIDE))
    data[:, 1, :8] = squeeze.YUV64_GREY_CLASS  # some ignored pixels
    for net in nets:
        net.blobs["data"].data[...] = data
    return python, stock


def test_the_stock_nets_have_no_python_layers():
    for stage in squeeze.STOCK_STAGES:
        text = (REPO_ROOT / net_path(f"train_val_squeeze_{stage}_stock.prototxt")).read_text()
        assert '"Python"' not in text and "InfogainLoss" in text


def test_the_class_weights_are_the_python_layers(caffe):
    from caffe.proto import caffe_pb2
    blob = caffe_pb2.BlobProto()
    blob.ParseFromString((REPO_ROOT / net_path(squeeze.INFOGAIN)).read_bytes())
    matrix = np.array(blob.data, np.float32).reshape(64, 64)
    weights = yuv64.class_boost_weights(np.load(REPO_ROOT / squeeze.PRIOR), squeeze.BOOST_LAMBDA, squeeze.YUV64_GREY_CLASS)
    np.testing.assert_allclose(np.diag(matrix), weights, rtol=1e-6)
    assert np.count_nonzero(matrix - np.diag(np.diag(matrix))) == 0 and matrix[36, 36] == 0


@pytest.mark.parametrize("stage", squeeze.STOCK_STAGES)
def test_the_stock_loss_gives_the_python_layers_gradients(caffe, tmp_path, stage):
    python, stock = _nets(caffe, tmp_path, stage, caffe.TRAIN)
    python.forward()
    stock.forward()
    python.backward()
    stock.backward()
    learning = [layer for layer, blobs in python.params.items() if np.abs(blobs[0].diff).sum() > 0]
    assert {"scores", "head1", "head2"} <= set(learning)
    for layer in learning:
        np.testing.assert_allclose(stock.params[layer][0].diff, python.params[layer][0].diff, rtol=2e-3,
                                   atol=1e-4 * np.abs(python.params[layer][0].diff).max())


def test_the_stock_net_reports_the_plain_loss_and_accuracy(caffe, tmp_path):
    python, stock = _nets(caffe, tmp_path, "head", caffe.TEST)
    python.forward()
    stock.forward()
    assert float(stock.blobs["loss"].data) == pytest.approx(float(python.blobs["loss"].data), rel=1e-5)
    assert float(stock.blobs["accuracy"].data) == pytest.approx(float(python.blobs["accuracy"].data))
    assert float(stock.blobs["rebalanced_loss"].data) != pytest.approx(float(python.blobs["loss"].data), rel=1e-3)


def test_a_few_stock_solver_steps_lower_the_loss(caffe, tmp_path, tiny_lmdb):
    solver = solver_on_tiny_lmdb(caffe, tmp_path, "squeeze_head_stock", tiny_lmdb, 2, 1e-3, 12)
    solver.step(1)
    first = float(solver.net.blobs["rebalanced_loss"].data)
    solver.step(11)
    assert np.isfinite(first) and float(solver.net.blobs["rebalanced_loss"].data) < first
