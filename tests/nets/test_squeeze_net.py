"""The squeeze family (SqueezeNet trunk + colour head): shapes and alignment of its grids, the
head stage learning its head alone, a few real solver steps, and its deploy net in both backends."""
import numpy as np
import pytest

from tests.conftest import REPO_ROOT, write_tiny_train_net
from tests.helpers import deploy_in_both_backends, solver_on_tiny_lmdb, steps_moving, with_input_instead_of_data
from colornet.nets import squeeze, squeezenet
from colornet.nets.common import net_path

HEAD_LAYERS = {f"{fire}_reduce" for fire in squeeze.HYPERCOLUMN} | {"head1", "head2", "scores"}
FIXED_UPSAMPLING = {"fire5_up", "fire7_up", "fire9_up", "scores_up"}


@pytest.mark.parametrize("stage", list(squeeze.STAGES))
def test_train_net_shapes_and_which_layers_learn(caffe, tmp_path, stage):
    path = with_input_instead_of_data(REPO_ROOT / net_path(f"train_val_squeeze_{stage}.prototxt"), [2, 2, 128, 128],
                                      tmp_path)
    net = caffe.Net(path, caffe.TRAIN)
    rng = np.random.default_rng(0)
    net.blobs["data"].data[:, 0] = rng.integers(0, 256, (2, 128, 128))
    net.blobs["data"].data[:, 1] = rng.integers(0, 64, (2, 128, 128))
    net.forward()
    # conv1 pad 4: fire3 at stride 4 (32 for 128), the scores and labels at half the input side.
    assert net.blobs["fire3_concat"].data.shape[2:] == (32, 32)
    assert net.blobs["fire9_concat"].data.shape[2:] == (8, 8)
    assert net.blobs["hypercolumn"].data.shape == (2, 1 + len(squeeze.HYPERCOLUMN) * squeeze.REDUCED, 32, 32)
    assert net.blobs["scores_up"].data.shape == (2, 64, 64, 64)
    assert net.blobs["label_uv3"].data.shape[2:] == (64, 64)
    np.testing.assert_allclose(net.blobs["data_y_centred"].data, net.blobs["data_y"].data - squeezenet.GREY_MEAN)
    from caffe.proto import caffe_pb2
    from google.protobuf import text_format
    spec = text_format.Parse(open(path).read(), caffe_pb2.NetParameter())
    learning = {layer.name for layer in spec.layer if layer.param and layer.param[0].lr_mult > 0}
    trunk = {name for name, _ in squeezenet.layer_shapes()} - {"conv10"}
    assert HEAD_LAYERS <= learning and not FIXED_UPSAMPLING & learning
    assert (trunk <= learning) == (stage == "all") and (not trunk & learning) == (stage != "all")


def test_fixed_upsampling_is_bilinear_per_channel(caffe):
    net = caffe.Net(str(REPO_ROOT / "prototxt/deploy_squeeze.prototxt"), caffe.TEST)
    weights = net.params["scores_up"][0].data
    assert weights.shape == (64, 1, 4, 4)
    line = np.array([0.25, 0.75, 0.75, 0.25])
    np.testing.assert_allclose(weights[10, 0], np.outer(line, line))
    assert net.params["fire9_up"][0].data.shape == (squeeze.REDUCED, 1, 8, 8)


@pytest.mark.slow  # a real training run
def test_head_stage_moves_only_the_head_and_lowers_the_loss(caffe, tmp_path, tiny_lmdb):
    """30 Adam steps of the head stage on real photos: the loss falls, the trunk and the fixed
    upsampling keep their weights, every head layer moves."""
    write_tiny_train_net(tmp_path, "squeeze_head", tiny_lmdb, 4)
    solver = solver_on_tiny_lmdb(caffe, tmp_path, "squeeze_head", tiny_lmdb, batch=4, base_lr=0.001, max_iter=30)
    changed, losses = steps_moving(solver, "loss")
    assert changed == HEAD_LAYERS
    assert np.mean(losses[-5:]) < 0.85 * np.mean(losses[:3]), losses


def test_deploy_gives_64_classes_at_half_the_side_and_opencv_agrees(caffe, tmp_path):
    y = np.random.default_rng(1).integers(0, 256, (1, 1, 224, 224)).astype(np.float32)
    prob, by_opencv = deploy_in_both_backends(caffe, REPO_ROOT / "prototxt/deploy_squeeze.prototxt", tmp_path,
                                              "data_y", y, "prob")
    assert prob.shape == (1, 64, 112, 112)
    np.testing.assert_allclose(prob.sum(axis=1), 1, atol=1e-4)
    np.testing.assert_allclose(by_opencv, prob, atol=2e-3)


@pytest.mark.parametrize("stage, deploy", [("head", "deploy_squeeze.prototxt"),
                                           ("control", "deploy_squeeze_control.prototxt")])
def test_each_stage_has_a_deploy_net_computing_its_training_net(caffe, tmp_path, stage, deploy):
    """The same weights give the same class scores in the stage's training net and its deploy net:
    the shipped head reads its tops through the fixed scales, the random-trunk control without."""
    path = with_input_instead_of_data(REPO_ROOT / net_path(f"train_val_squeeze_{stage}.prototxt"), [1, 2, 128, 128],
                                      tmp_path)
    train = caffe.Net(path, caffe.TEST)
    rng = np.random.default_rng(2)
    y = rng.integers(0, 256, (1, 1, 128, 128))
    train.blobs["data"].data[:, 0] = y
    train.forward()
    net = caffe.Net(str(REPO_ROOT / net_path(deploy)), caffe.TEST)
    net.share_with(train)
    net.blobs["data_y"].reshape(1, 1, 128, 128)
    net.blobs["data_y"].data[...] = y
    net.forward()
    np.testing.assert_allclose(net.blobs["scores_up"].data, train.blobs["scores_up"].data, rtol=1e-5, atol=1e-5)


def test_the_long_head_solver_resumes_the_head_stage_itself():
    """tools/train.py resumes from the newest snapshot of the solver's prefix: the long head solver
    must share the head stage's net, prefix and schedule and only run further."""
    from caffe.proto import caffe_pb2
    from google.protobuf import text_format

    def solver(name):
        return text_format.Parse((REPO_ROOT / net_path(name)).read_text(), caffe_pb2.SolverParameter())
    head, long = solver("solver_squeeze_head.prototxt"), solver("solver_squeeze_head_long.prototxt")
    assert long.max_iter > head.max_iter
    long.max_iter = head.max_iter
    assert long == head
