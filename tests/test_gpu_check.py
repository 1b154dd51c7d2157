"""bench/gpu_check.sh: the prepared GPU run, checked here in its --cpu mode on real photos."""
import json
import pathlib
import shutil
import subprocess

import pytest

from tests.conftest import REPO_ROOT

SKIMAGE_DATA = pathlib.Path(__import__("skimage").__file__).parent / "data"


@pytest.fixture(scope="module")
def photos(tmp_path_factory):
    folder = tmp_path_factory.mktemp("gpu_photos")
    for name in ("astronaut.png", "chelsea.png", "coffee.png", "rocket.jpg", "motorcycle_left.png"):
        shutil.copy(SKIMAGE_DATA / name, folder / name)
    return folder


def run(*arguments):
    return subprocess.run(["bash", str(REPO_ROOT / "bench/gpu_check.sh"), *map(str, arguments)],
                          capture_output=True, text=True, timeout=600)


@pytest.mark.skipif(shutil.which("caffe") is None, reason="needs the caffe command (make setup)")
@pytest.mark.slow  # a real training run of every stage
def test_cpu_mode_runs_every_step_and_brings_back_weights(photos, tmp_path):
    result = run("--cpu", "--minutes", "1", "--photos", photos, "--wheels", tmp_path / "none", "-o", tmp_path)
    assert result.returncode == 0, result.stderr[-2000:]
    results = json.loads((tmp_path / "gpu_check.json").read_text())
    assert results["device"]["mode"] == "cpu"
    for net in ("color", "fcn", "lab313"):
        assert results["time"][net]["ms_per_iteration"] > 0, results["time"][net]
    for deploy in ("deploy_color.prototxt", "deploy_lab313.prototxt"):
        assert results["agreement"][deploy]["values"] > 100
        assert results["agreement"][deploy]["max_relative_difference"] == 0.0  # CPU against itself
    training = results["training"]
    assert set(training["stages"]) == {"plain", "rebalance"}
    assert all(stage["code"] == 0 for stage in training["stages"].values())
    weights = tmp_path / training["weights"]
    assert weights.is_file() and weights.stat().st_size < 16 * 2 ** 20
    assert (tmp_path / "train_plain.log").is_file()
    table = (tmp_path / "gpu_check.md").read_text()
    assert "| color | 16 |" in table and "CPU vs CPU" in table


@pytest.mark.skipif(shutil.which("caffe") is None, reason="needs the caffe command (make setup)")
@pytest.mark.slow  # a real training run of both stages
def test_cpu_mode_trains_the_squeeze_recipe_and_brings_back_both_stages(photos, tmp_path):
    # Any weights whose layer names are the trunk's start it: the default's own here (CI has no
    # decoded SqueezeNet without `make squeezenet`).
    result = run("--cpu", "--minutes", "1", "--recipe", "squeeze", "--steps", "train", "--trunk",
                 REPO_ROOT / "models/default/weights.caffemodel", "--photos", photos, "--wheels", tmp_path / "none",
                 "-o", tmp_path)
    assert result.returncode == 0, result.stderr[-2000:]
    training = json.loads((tmp_path / "gpu_check.json").read_text())["training"]
    assert training["recipe"].startswith("squeeze") and training["photos"] == 5
    for stage in ("head", "all"):
        row = training["stages"][stage]
        assert row["code"] == 0 and row["val_plain_losses"] and (tmp_path / f"train_squeeze_{stage}.log").is_file()
        assert (tmp_path / f"trained_squeeze_{stage}_stock_iter_{row['iterations']}.caffemodel").is_file()
    assert training["stages"]["head"]["loss_last"] < training["stages"]["head"]["loss_first"]
    missing = run("--cpu", "--recipe", "squeeze", "--steps", "train", "--trunk", tmp_path / "no.caffemodel",
                  "--photos", photos, "--wheels", tmp_path / "none", "-o", tmp_path / "missing")
    assert missing.returncode == 3 and "make squeezenet" in missing.stderr


def test_gpu_mode_without_a_gpu_says_so_in_one_line(photos, tmp_path):
    bundle = tmp_path / "bundle"
    (bundle / "bin").mkdir(parents=True)
    (bundle / "lib").mkdir()
    fake = bundle / "bin" / "caffe"
    fake.write_text("#!/bin/sh\necho 'Check failed: error == cudaSuccess (100 vs. 0)  no CUDA-capable device is detected' >&2\n"
                    "exit 1\n")
    fake.chmod(0o755)
    result = run("--bundle", bundle, "--photos", photos, "--wheels", tmp_path / "none", "-o", tmp_path / "out")
    assert result.returncode == 3
    assert "no GPU found" in result.stderr and "--cpu" in result.stderr
    assert "no GPU found" in json.loads((tmp_path / "out" / "gpu_check.json").read_text())["error"]
    missing = run("--bundle", tmp_path / "nothing", "--photos", photos, "-o", tmp_path / "out2")
    assert missing.returncode == 3 and "make gpu-bundle" in missing.stderr


def test_help_names_the_modes():
    result = run("--help")
    assert result.returncode == 0 and "--cpu" in result.stdout and "--prepare" in result.stdout
