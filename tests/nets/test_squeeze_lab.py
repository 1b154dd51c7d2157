"""The squeeze family under Lab/313 bins (colornet/nets/squeeze_lab.py): the trunk sees the L it
was decoded for, the loss's constants come from the world photos' prior, the head alone learns
and lowers the loss on real photos, and the deploy net is one the Lab/313 colorize path runs."""
import pathlib

import numpy as np
import pytest

from tests.conftest import REPO_ROOT
from tests.helpers import deploy_in_both_backends, solver_on_tiny_lmdb, steps_moving, with_input_instead_of_data
from tests.nets.test_lab313_stock import lab8_crops, skimage_photos
from colornet.colour import lab313
from colornet.nets import lab313 as lab313_nets
from colornet.nets import squeeze, squeeze_lab, squeezenet
from colornet.nets.common import net_path

CONSTANTS = str(REPO_ROOT / net_path(squeeze_lab.CONSTANTS))
HEAD_LAYERS = {f"{fire}_reduce" for fire in squeeze.HYPERCOLUMN} | {"head1", "head2", "conv8_313"}


@pytest.fixture(scope="module")
def tiny_lab_lmdb(tmp_path_factory):
    """8-bit Lab records, 16 at 144×144, from four real photos shipped with scikit-image."""
    from colornet.data.lmdb_writer import RecordOptions, build, write_records
    photos = skimage_photos()
    path = tmp_path_factory.mktemp("tiny_lab") / "train_lab_lmdb"
    write_records(build, RecordOptions(photos, path, size=144, crops_per_photo=4, quiet=True, format="lab"))
    return path


def test_train_net_feeds_the_trunk_l_as_grey_and_scores_313_bins_on_fire3s_grid(caffe, tmp_path):
    path = with_input_instead_of_data(REPO_ROOT / net_path("train_val_squeeze_lab.prototxt"), [4, 3, 128, 128],
                                      tmp_path)
    net = caffe.Net(path, caffe.TEST)
    net.copy_from(CONSTANTS)
    net.blobs["data"].data[...] = lab8_crops(128)
    net.forward()
    # the 8-bit L back to 0..100, then the deploy net's own scale: 2.55·L − 117, i.e. L8 − 117
    np.testing.assert_allclose(net.blobs["data_l_grey"].data, net.blobs["data_l8"].data - squeezenet.GREY_MEAN,
                               atol=1e-3)
    assert net.blobs["conv8_313"].data.shape == (4, lab313_nets.LAB_BINS, 32, 32)
    assert net.blobs["data_ab_ss"].data.shape[2:] == (32, 32)
    assert np.isfinite(float(net.blobs["loss8_313_boosted"].data))


def test_the_loss_boosts_bins_by_the_world_photos_prior(caffe):
    from caffe.proto import caffe_pb2
    constants = caffe_pb2.NetParameter()
    constants.ParseFromString(open(CONSTANTS, "rb").read())
    boost = {layer.name: layer for layer in constants.layer}["boost_sums"].blobs[0].data
    world = lab313.prior_boost_weights(np.load(REPO_ROOT / squeeze_lab.PRIOR), lab313_nets.LAB_BOOST_LAMBDA)
    default = lab313.prior_boost_weights(np.load(REPO_ROOT / lab313.DEFAULT_PRIOR), lab313_nets.LAB_BOOST_LAMBDA)
    np.testing.assert_allclose(np.reshape(boost, (2, -1))[1], world, rtol=1e-6)
    assert not np.allclose(world, default, rtol=0.05)  # the world prior is not the Debian photos' one


@pytest.mark.slow  # a real training run
def test_head_learns_alone_and_lowers_the_loss_on_real_photos(caffe, tmp_path, tiny_lab_lmdb):
    solver = solver_on_tiny_lmdb(caffe, tmp_path, "squeeze_lab", tiny_lab_lmdb, batch=4, base_lr=0.001, max_iter=30)
    solver.net.copy_from(str(REPO_ROOT / "models/default/weights.caffemodel"))  # its trunk is the decoded one
    solver.net.copy_from(CONSTANTS)
    changed, losses = steps_moving(solver, "loss8_313")
    assert changed == HEAD_LAYERS
    assert np.mean(losses[-5:]) < 0.85 * np.mean(losses[:3]), losses


def test_deploy_takes_l_and_answers_313_scores_that_opencv_and_the_lab_family_read(caffe, tmp_path):
    from colornet.colorize import families
    lum = np.random.default_rng(1).uniform(0, 100, (1, 1, 224, 224)).astype(np.float32)
    scores, by_opencv = deploy_in_both_backends(caffe, REPO_ROOT / net_path("deploy_squeeze_lab.prototxt"), tmp_path,
                                                "data_l", lum, "conv8_313")
    assert scores.shape == (1, lab313_nets.LAB_BINS, 56, 56)
    family = families.BY_INPUT["data_l"]
    assert family.name == "lab313" and family.output_name == "conv8_313"
    ab = family.decode({"conv8_313": scores}, 0.38)
    assert ab.shape == (1, 2, 56, 56) and np.isfinite(ab).all()
    np.testing.assert_allclose(by_opencv, scores, atol=2e-3 * np.abs(scores).max())


def test_make_trains_the_shipped_snapshot_from_the_trunk_and_the_losss_constants():
    """`make train-squeeze-lab` runs the generated solver from both weights files, and the
    snapshot models/squeeze-lab was exported from is the one that solver writes last."""
    import json
    import re
    from caffe.proto import caffe_pb2
    from google.protobuf import text_format
    from tests.conftest import make_dry_run
    commands = make_dry_run("train-squeeze-lab")
    solver_path = re.search(r"train\.py (\S+)", commands).group(1)
    assert solver_path == net_path("solver_squeeze_lab.prototxt")
    assert re.search(r"--weights (\S+)", commands).group(1).split(",") == [
        "models/squeezenet/squeezenet_grey.caffemodel", net_path(squeeze_lab.CONSTANTS)]
    solver = text_format.Parse((REPO_ROOT / solver_path).read_text(), caffe_pb2.SolverParameter())
    card = json.loads((REPO_ROOT / "models/squeeze-lab/model.json").read_text())
    assert card["family"] == "lab313" and card["deploy_source"] == net_path("deploy_squeeze_lab.prototxt")
    assert card["snapshot"] == f"{pathlib.Path(solver.snapshot_prefix).name}_iter_{solver.max_iter}.caffemodel"
