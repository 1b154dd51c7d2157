"""Shared fixtures: pycaffe on the CPU with quiet logging, and tiny prototxt written to tmp files."""
import os
import pathlib

import pytest

os.environ.setdefault("GLOG_minloglevel", "2")

REPO_ROOT = pathlib.Path(__file__).resolve().parents[1]


@pytest.fixture(scope="session")
def caffe():
    import caffe as caffe_module
    caffe_module.set_mode_cpu()
    return caffe_module


@pytest.fixture
def write_net(tmp_path):
    """Write prototxt text to a temporary file and return its path as a str."""
    counter = {"n": 0}

    def write(text, name=None):
        counter["n"] += 1
        path = tmp_path / (name or f"net{counter['n']}.prototxt")
        path.write_text(text)
        return str(path)
    return write


@pytest.fixture(scope="session")
def tiny_lmdb(tmp_path_factory):
    """A YUV-64 LMDB of 16 records at 144×144 from four real photos shipped with scikit-image."""
    import skimage
    from tools import gen_lmdb
    data = pathlib.Path(skimage.__file__).parent / "data"
    photos = [data / name for name in ("astronaut.png", "chelsea.png", "coffee.png", "rocket.jpg")]
    path = tmp_path_factory.mktemp("tiny") / "train_lmdb"
    assert gen_lmdb.main([*map(str, photos), "-o", str(path), "--size", "144", "--crops-per-photo", "4", "-q"]) == 0
    return path
