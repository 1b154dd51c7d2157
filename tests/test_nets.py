"""Generated nets: no drift from the generator, shapes, forward/backward, and a short training."""
import pathlib

import numpy as np
import pytest
from google.protobuf import text_format

from tests.conftest import REPO_ROOT
from tools import gen_lmdb, make_prototxt


def test_committed_prototxt_matches_the_generator(tmp_path):
    assert make_prototxt.main(["--output", str(tmp_path)]) == 0
    generated = sorted(p.name for p in tmp_path.iterdir())
    assert generated
    for name in generated:
        committed = REPO_ROOT / "prototxt" / name
        assert committed.exists(), f"{name} is generated but not committed"
        assert committed.read_bytes() == (tmp_path / name).read_bytes(), f"{name} drifted from the generator"


def with_input_instead_of_data(prototxt_path, shape, tmp_path):
    """The train_val net with its Data layers replaced by one Input layer of the given shape."""
    from caffe.proto import caffe_pb2
    net = caffe_pb2.NetParameter()
    text_format.Parse(prototxt_path.read_text(), net)
    layers = [layer for layer in net.layer if layer.type != "Data"]
    del net.layer[:]
    data = net.layer.add(name="data", type="Input", top=["data"])
    data.input_param.shape.add(dim=shape)
    net.layer.extend(layers)
    path = tmp_path / prototxt_path.name
    path.write_text(text_format.MessageToString(net))
    return str(path)


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


@pytest.mark.parametrize("suffix", ["", "_lite"])
def test_color_deploy_output(caffe, suffix):
    net = caffe.Net(str(REPO_ROOT / f"prototxt/deploy_color{suffix}.prototxt"), caffe.TEST)
    net.blobs["data_y"].data[...] = 127
    output = net.forward()["prob"]
    assert output.shape == (1, 64, 112, 112)
    np.testing.assert_allclose(output.sum(axis=1), 1.0, rtol=1e-4)


def test_lite_color_net_learns_in_30_iterations(caffe, tmp_path):
    """30 CPU iterations on a tiny LMDB of real photos lower the loss (margin, not timed)."""
    import skimage
    data = pathlib.Path(skimage.__file__).parent / "data"
    photos = [data / name for name in ("astronaut.png", "chelsea.png", "coffee.png", "rocket.jpg")]
    lmdb_path = tmp_path / "train_lmdb"
    assert gen_lmdb.main([*map(str, photos), "-o", str(lmdb_path), "--size", "144", "--crops-per-photo", "4", "-q"]) == 0
    net_text = (REPO_ROOT / "prototxt/train_val_color_lite.prototxt").read_text()
    net_text = net_text.replace("data/train_lmdb", str(lmdb_path)).replace("data/val_lmdb", str(lmdb_path))
    net_text = net_text.replace("batch_size: 16", "batch_size: 4")
    (tmp_path / "net.prototxt").write_text(net_text)
    (tmp_path / "solver.prototxt").write_text(
        f'net: "{tmp_path / "net.prototxt"}"\ntype: "Adam"\nbase_lr: 0.001\nmomentum: 0.9\nmomentum2: 0.99\n'
        f'lr_policy: "fixed"\nmax_iter: 30\nsolver_mode: CPU\nrandom_seed: 1\n')
    solver = caffe.get_solver(str(tmp_path / "solver.prototxt"))
    losses = []
    for _ in range(30):
        solver.step(1)
        losses.append(float(solver.net.blobs["loss"].data))
    assert np.mean(losses[-5:]) < 0.85 * np.mean(losses[:3]), losses
