"""The foundation: Caffe built by `make setup`, Python layers under pycaffe and under `caffe train`,
and one interpreter shared by the `caffe` binary, pycaffe and tools/."""
import json
import os
import pathlib
import shutil
import subprocess
import sys

import numpy as np
import pytest

from layers.interpreter import interpreter_report
from tests.conftest import REPO_ROOT

REBALANCE_NET = """
name: "rebalance"
force_backward: true
input: "prediction" input_shape { dim: 2 dim: 3 dim: 4 dim: 5 }
input: "weights" input_shape { dim: 2 dim: 1 dim: 4 dim: 5 }
layer { name: "rebalance" type: "Python" bottom: "prediction" bottom: "weights" top: "out"
  python_param { module: "layers.caffe_layers" layer: "ClassRebalanceMultLayer" param_str: '%s' } }
"""


def test_caffe_command_runs():
    result = subprocess.run(["caffe", "--version"], capture_output=True, text=True, check=True)
    assert "caffe version 1.0.0" in (result.stdout + result.stderr)


def test_python_layer_forward_backward_in_pycaffe(caffe, write_net):
    net = caffe.Net(write_net(REBALANCE_NET % ""), caffe.TRAIN)
    rng = np.random.default_rng(0)
    prediction = rng.normal(size=(2, 3, 4, 5)).astype(np.float32)
    weights = rng.uniform(0.1, 3.0, size=(2, 1, 4, 5)).astype(np.float32)
    top_diff = rng.normal(size=(2, 3, 4, 5)).astype(np.float32)
    net.blobs["prediction"].data[...] = prediction
    net.blobs["weights"].data[...] = weights
    net.forward()
    np.testing.assert_array_equal(net.blobs["out"].data, prediction)
    net.blobs["out"].diff[...] = top_diff
    net.backward()
    np.testing.assert_allclose(net.blobs["prediction"].diff, top_diff * weights, rtol=1e-6)
    assert not np.allclose(net.blobs["prediction"].diff, top_diff)


def test_python_layer_reshapes_with_its_input(caffe, write_net):
    net = caffe.Net(write_net(REBALANCE_NET % ""), caffe.TEST)
    net.blobs["prediction"].reshape(1, 3, 7, 9)
    net.blobs["weights"].reshape(1, 1, 7, 9)
    net.reshape()
    assert net.blobs["out"].data.shape == (1, 3, 7, 9)


def test_bad_param_str_raises_clear_error(caffe, write_net):
    with pytest.raises(ValueError, match=r"ClassRebalanceMultLayer: unknown parameter\(s\) \['gain'\]"):
        caffe.Net(write_net(REBALANCE_NET % '{"gain": 2}'), caffe.TRAIN)


TRAIN_NET = """
name: "tiny_train"
layer { name: "data" type: "DummyData" top: "data" top: "target"
  dummy_data_param { shape { dim: 4 dim: 3 dim: 8 dim: 8 } shape { dim: 4 dim: 2 dim: 8 dim: 8 }
    data_filler { type: "gaussian" std: 1 } data_filler { type: "gaussian" std: 1 } } }
layer { name: "report" type: "Python" bottom: "data" top: "checked"
  python_param { module: "layers.caffe_layers" layer: "InterpreterReportLayer"
    param_str: '{"report": "REPORT"}' } }
layer { name: "conv" type: "Convolution" bottom: "checked" top: "conv"
  convolution_param { num_output: 2 kernel_size: 3 pad: 1 weight_filler { type: "xavier" } } }
layer { name: "loss" type: "EuclideanLoss" bottom: "conv" bottom: "target" top: "loss" }
"""


def _train_tiny_net(tmp_path):
    report = tmp_path / "embedded.json"
    net = tmp_path / "tiny_train.prototxt"
    net.write_text(TRAIN_NET.replace("REPORT", str(report)))
    solver = tmp_path / "tiny_solver.prototxt"
    solver.write_text(f'net: "{net}"\nbase_lr: 0.01\nlr_policy: "fixed"\nmax_iter: 3\n'
                      f'display: 1\nsolver_mode: CPU\nsnapshot_after_train: false\n')
    result = subprocess.run(["caffe", "train", "--solver", str(solver)], cwd=REPO_ROOT,
                            capture_output=True, text=True, timeout=300,
                            env=dict(os.environ, GLOG_minloglevel="0", GLOG_logtostderr="1"))
    return result, report


def test_caffe_train_runs_a_python_layer_net(tmp_path):
    result, report = _train_tiny_net(tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "Iteration 3" in result.stderr and "Optimization Done" in result.stderr
    assert report.exists()


def test_caffe_binary_embeds_this_interpreter_with_the_same_packages(tmp_path):
    result, report = _train_tiny_net(tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    embedded = json.loads(report.read_text())
    ours = interpreter_report()
    assert embedded == ours
    assert ours["prefix"] == sys.prefix and all(ours["packages"].values())


def test_setup_gpu_without_a_cuda_compiler_says_what_it_needs():
    result = subprocess.run(["make", "setup", "GPU=1"], cwd=REPO_ROOT, capture_output=True, text=True,
                            env={**os.environ, "CUDA_HOME": "/nonexistent-cuda", "CAFFE_PREFIX": "/nonexistent-prefix"})
    assert result.returncode != 0
    assert "GPU=1 needs the CUDA compiler: no nvcc in /nonexistent-cuda" in result.stderr
    assert not pathlib.Path("/nonexistent-prefix").exists()


@pytest.mark.skipif(os.geteuid() != 0 or not shutil.which("runuser"), reason="needs root to switch to nobody")
def test_setup_without_root_says_what_to_run_instead():
    import tempfile
    # A copy that nobody can read wherever CI cloned the repo.
    copy = pathlib.Path(tempfile.mkdtemp(prefix="colornet-nonroot-", dir="/tmp"))
    try:
        shutil.copytree(REPO_ROOT / "tools" / "caffe-patches", copy / "tools" / "caffe-patches")
        shutil.copy(REPO_ROOT / "tools" / "setup_caffe.sh", copy / "tools")
        shutil.copy(REPO_ROOT / "requirements.txt", copy)
        shutil.copy(REPO_ROOT / "pyproject.toml", copy)
        for path in [copy, *copy.rglob("*")]:
            path.chmod(0o755)
        # nobody cannot run a python3 under /root, so setup finds the system one; either way a
        # step that writes system files comes before anything is built.
        result = subprocess.run(
            ["runuser", "-u", "nobody", "--", "env", f"CAFFE_PREFIX={copy}/prefix",
             "COLORNET_CACHE=/var/cache/colornet", "bash", str(copy / "tools" / "setup_caffe.sh")],
            capture_output=True, text=True, timeout=120)
        assert result.returncode != 0
        assert "needs root" in result.stderr and "sudo make setup" in result.stderr, result.stderr
        assert not (copy / "prefix").exists()
    finally:
        shutil.rmtree(copy, ignore_errors=True)


@pytest.mark.skipif(not pathlib.Path("/opt/colornet/caffe-gpu/bin/caffe").exists(),
                    reason="no CUDA build here (make setup GPU=1)")
def test_gpu_bundle_is_small_and_self_contained(tmp_path):
    bundle = tmp_path / "bundle"
    result = subprocess.run(["bash", str(REPO_ROOT / "tools/make_gpu_bundle.sh"), str(bundle)],
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    size = sum(p.stat().st_size for p in bundle.rglob("*") if p.is_file())
    assert size <= 60 * 2 ** 20
    environment = {"PATH": "/usr/bin:/bin", "LD_LIBRARY_PATH": str(bundle / "lib")}
    version = subprocess.run([str(bundle / "bin/caffe"), "--version"], capture_output=True, text=True, env=environment)
    assert version.returncode == 0 and "caffe version 1.0.0" in version.stdout + version.stderr
    # Everything it links resolves from the bundle, except what a CUDA machine has itself (CUDA, NCCL).
    ldd = subprocess.run(["ldd", str(bundle / "bin/caffe")], capture_output=True, text=True, env=environment).stdout
    for line in ldd.splitlines():
        glibc = ("libc.so", "libm.so", "libdl.so", "libpthread.so", "librt.so", "libgcc_s", "ld-linux", "vdso")
        if "=>" in line and not any(name in line for name in glibc + ("libcu", "libnccl")):
            assert str(bundle) in line, line
