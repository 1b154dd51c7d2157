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
