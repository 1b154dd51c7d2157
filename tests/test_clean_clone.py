"""The design's own commands on a copy of the repo as a clean clone has it (tracked files only)."""
import os
import pathlib
import re
import shutil
import subprocess
import sys

import pytest

from tests.conftest import REPO_ROOT


def clean_clone(target, repo=REPO_ROOT):
    """A `git clone` of the repository into target: the last commit's tree, exactly what a user
    (and CI) gets; nothing untracked, uncommitted or ignored."""
    subprocess.run(["git", "clone", "-q", "--no-hardlinks", str(repo), str(target)], check=True,
                   capture_output=True)
    return target


def test_a_clean_clone_has_the_last_commit_and_nothing_else(tmp_path):
    repo = tmp_path / "repo"
    repo.mkdir()
    subprocess.run(["git", "init", "-q"], cwd=repo, check=True)
    (repo / "tracked.txt").write_text("committed\n")
    subprocess.run(["git", "add", "tracked.txt"], cwd=repo, check=True)
    subprocess.run(["git", "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "one"], cwd=repo, check=True)
    (repo / "tracked.txt").write_text("changed but not committed\n")
    (repo / "never_added.txt").write_text("not in git\n")
    clone = clean_clone(tmp_path / "clone", repo)
    assert sorted(p.name for p in clone.iterdir() if p.name != ".git") == ["tracked.txt"]
    assert (clone / "tracked.txt").read_text() == "committed\n"


def _in_clone(clone):
    """The environment that makes a command in the clone use the clone's package (not the
    checkout that `make setup` installed in editable mode)."""
    return {**os.environ, "PYTHONPATH": str(clone)}


@pytest.mark.slow  # the README's third command in a copy of the repo
def test_use_trained_model_runs_as_the_readme_writes_it_in_a_clean_clone(tmp_path):
    """`python tools/use_trained_model.py` from the root of a clean clone: the committed default
    model colours the committed samples."""
    clone = clean_clone(tmp_path / "clone")
    result = subprocess.run([sys.executable, "tools/use_trained_model.py", "data/samples", "-o", "out", "-q"],
                            cwd=clone, capture_output=True, text=True, timeout=600, env=_in_clone(clone))
    assert result.returncode == 0, result.stderr[-2000:]
    samples = sorted(p.stem for p in (clone / "data/samples").glob("*.jpg"))
    assert samples and sorted(p.stem for p in (clone / "out").glob("*.png")) == samples


def test_every_solver_can_write_its_snapshots_in_a_clean_clone(tmp_path):
    clone = clean_clone(tmp_path / "clone")
    prefixes = [re.search(r'snapshot_prefix:\s*"([^"]+)"', path.read_text()).group(1)
                for path in sorted((clone / "prototxt").rglob("solver_*.prototxt"))]
    assert len(prefixes) >= 8
    for prefix in prefixes:
        assert (clone / prefix).parent.is_dir(), f"{prefix}: its folder is missing in a clean clone"


def test_generated_solvers_skip_the_meaningless_test_at_iteration_0():
    for path in (REPO_ROOT / "prototxt").rglob("solver_*.prototxt"):
        assert "test_initialization: false" in path.read_text(), path.name


@pytest.mark.skipif(shutil.which("caffe") is None, reason="needs the caffe command (make setup)")
@pytest.mark.slow  # a real `caffe train` in a copy of the repo
def test_caffe_train_runs_as_the_readme_writes_it_in_a_clean_clone(tmp_path, tiny_lmdb):
    """`caffe train --solver prototxt/solver_color.prototxt` from the root of a clean clone, with a
    tiny LMDB where the net reads its data and max_iter 2 in a copied solver (same prefix)."""
    clone = clean_clone(tmp_path / "clone")
    for name in ("train_lmdb", "val_lmdb"):
        shutil.copytree(tiny_lmdb, clone / "data" / name)
    solver = (clone / "prototxt/solver_color.prototxt").read_text()
    solver = re.sub(r"max_iter: \d+", "max_iter: 2", solver)
    (clone / "prototxt/solver_color.prototxt").write_text(solver)
    result = subprocess.run(["caffe", "train", "--solver", "prototxt/solver_color.prototxt"], cwd=clone,
                            capture_output=True, text=True, timeout=600,
                            env={**_in_clone(clone), "GLOG_minloglevel": "0", "GLOG_logtostderr": "1"})
    log = result.stdout + result.stderr
    assert result.returncode == 0, log[-2000:]
    assert "Optimization Done" in log
    assert (clone / "models/snapshots/color_iter_2.caffemodel").is_file()
    assert not re.search(r"Iteration 0, Testing net", log)
    assert pathlib.Path(clone / "models/snapshots/.gitignore").is_file()
