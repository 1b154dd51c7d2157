"""Shared fixtures: pycaffe on the CPU with quiet logging, tiny prototxt written to tmp files, and
the two ways tests reach the commands: the package functions they call, and the scripts run."""
import os
import pathlib
import subprocess
import sys

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
    from colornet.data.lmdb_writer import RecordOptions, build, write_records
    data = pathlib.Path(skimage.__file__).parent / "data"
    photos = [data / name for name in ("astronaut.png", "chelsea.png", "coffee.png", "rocket.jpg")]
    path = tmp_path_factory.mktemp("tiny") / "train_lmdb"
    write_records(build, RecordOptions(photos, path, size=144, crops_per_photo=4, quiet=True))
    return path


def write_tiny_train_net(tmp_path, net_name, lmdb_path, batch):
    """A generated train_val net rewritten to read lmdb_path in TRAIN and TEST at a small batch;
    returns the path of the copy."""
    text = (REPO_ROOT / f"prototxt/train_val_{net_name}.prototxt").read_text()
    for source in ("data/train_lmdb", "data/train_scales_lmdb", "data/val_lmdb", "data/train_scales_lab_lmdb",
                   "data/val_squeeze_lab_lmdb"):
        text = text.replace(source, str(lmdb_path))
    text = text.replace("batch_size: 16", f"batch_size: {batch}").replace("batch_size: 8", f"batch_size: {batch}")
    path = tmp_path / "net.prototxt"
    path.write_text(text)
    return path


def convolution_weights(net):
    """{layer: weights copy} of every (de)convolution; BatchNorm statistics, which move in every
    forward pass whatever the learning rate, are left out."""
    return {name: blobs[0].data.copy() for name, blobs in net.params.items()
            if net.layer_dict[name].type in ("Convolution", "Deconvolution")}


def make_dry_run(target):
    """The commands `make -n TARGET` prints, continuation lines joined."""
    import subprocess
    result = subprocess.run(["make", "-n", target], cwd=REPO_ROOT, capture_output=True, text=True, check=True)
    return result.stdout.replace("\\\n", " ")


def run_tool(script, *args, cwd=REPO_ROOT, timeout=300):
    """Run tools/SCRIPT (or bench/…, a path relative to the repo) as a user would; returns the
    CompletedProcess with its exit status and text output."""
    path = REPO_ROOT / script if "/" in script else REPO_ROOT / "tools" / f"{script}.py"
    return subprocess.run([sys.executable, str(path), *map(str, args)], cwd=cwd, capture_output=True, text=True,
                          timeout=timeout)


def colorize_paths(inputs, output, model=None, weights=None, backend=None, temperature=None, decode=None,
                   upsampling="guided", max_pixels=None, video=None, **output_settings):
    """What tools/use_trained_model.py does, through the package: the Report (missing inputs
    counted among its failures)."""
    from colornet.colorize.files import OutputSettings, colorize_files, expand_inputs
    from colornet.colorize.pipeline import Colorizer
    from colornet.colorize.models import Model
    from colornet.colorize.settings import Settings
    from colornet.photo_io import DEFAULT_MAX_PIXELS
    paths, missing = expand_inputs(inputs)
    settings = Settings(temperature=temperature, decode=decode, upsampling=upsampling or "guided",
                        max_pixels=DEFAULT_MAX_PIXELS if max_pixels is None else max_pixels)
    colorizer = Colorizer(Model.resolve(model and str(model), weights), backend, settings)
    output_settings.setdefault("quiet", True)
    report = colorize_files(paths, output, colorizer, OutputSettings(**output_settings), video)
    report.failures[:0] = missing
    return report
