"""Run `caffe train` on a solver, logging to a file and resuming from the newest snapshot.

If the solver's snapshot_prefix already has `.solverstate` files, training resumes from the one
with the highest iteration (so an interrupted run loses at most one snapshot interval); the log
is appended to, with a marker line, so tools/plot_log.py sees one continuous curve.

A second training stage starts from the first one's weights:

--weights is used only when the stage has no snapshot of its own yet; after that it resumes.

The command line: tools/train.py.
"""
import logging
import os
import pathlib
import re
import subprocess
import time

from colornet.common import REPO_ROOT

log = logging.getLogger("train")
SNAPSHOT_ITER = re.compile(r"_iter_(\d+)\.solverstate$")


def snapshot_prefix(solver_path):
    """The solver's snapshot_prefix (relative paths are relative to the repo root)."""
    from google.protobuf import text_format
    from caffe.proto import caffe_pb2
    solver = caffe_pb2.SolverParameter()
    text_format.Parse(pathlib.Path(solver_path).read_text(), solver)
    if not solver.snapshot_prefix:
        raise ValueError(f"{solver_path}: no snapshot_prefix, so a run could not be resumed")
    return solver.snapshot_prefix


def latest_solverstate(prefix, root=REPO_ROOT):
    """The .solverstate with the highest iteration for this prefix, or None."""
    prefix_path = pathlib.Path(prefix)
    if not prefix_path.is_absolute():
        prefix_path = root / prefix_path
    best, best_iter = None, -1
    for path in prefix_path.parent.glob(prefix_path.name + "_iter_*.solverstate"):
        match = SNAPSHOT_ITER.search(path.name)
        if match and path.name == f"{prefix_path.name}_iter_{match.group(1)}.solverstate" \
                and int(match.group(1)) > best_iter:
            best, best_iter = path, int(match.group(1))
    return best


def train_command(solver, resume_from=None, gpu=None, caffe="caffe", weights=None):
    """The caffe command line: resume from a solverstate, or start (from weights, if given)."""
    command = [caffe, "train", f"--solver={solver}"]
    if resume_from is not None:
        command.append(f"--snapshot={resume_from}")
    elif weights is not None:
        command.append(f"--weights={weights}")
    if gpu is not None:
        command.append(f"--gpu={gpu}")
    return command


class TrainError(ValueError):
    """The solver or the starting weights do not exist."""


def repo_relative(weights):
    """One weights file (of caffe's comma-separated --weights) as caffe, run in the repo root, finds
    it: the path was given relative to where we were started."""
    weights = pathlib.Path(weights)
    if not weights.is_file():
        raise TrainError(f"{weights}: no such weights file (train the first stage, or fix the path)")
    weights = weights.resolve()
    return weights.relative_to(REPO_ROOT) if weights.is_relative_to(REPO_ROOT) else weights


def train(solver, log_path, fresh=False, gpu=None, caffe="caffe", weights=None):
    """Run `caffe train` on `solver` from the repo root, appending its output to `log_path`;
    resumes from the newest snapshot unless `fresh`. Returns caffe's exit status."""
    solver, log_path = pathlib.Path(solver), pathlib.Path(log_path)
    if not solver.exists():
        raise TrainError(f"{solver}: no such solver file (run `python tools/make_prototxt.py`?)")
    if weights is not None:
        weights = ",".join(str(repo_relative(path)) for path in str(weights).split(","))
    prefix = snapshot_prefix(solver)
    (REPO_ROOT / prefix).parent.mkdir(parents=True, exist_ok=True)
    resume_from = None if fresh else latest_solverstate(prefix)
    if resume_from is not None and resume_from.is_relative_to(REPO_ROOT):
        resume_from = resume_from.relative_to(REPO_ROOT)
    command = train_command(solver, resume_from, gpu, caffe, weights)
    log_path.parent.mkdir(parents=True, exist_ok=True)
    mode = "w" if fresh or resume_from is None else "a"
    if resume_from is not None:
        log.info("resuming from %s; log: %s", resume_from, log_path)
    else:
        log.info("starting %s%s; log: %s", solver, f" from {weights}" if weights else "", log_path)
    with open(log_path, mode) as log_file:
        log_file.write(f"# colornet train.py {time.strftime('%Y-%m-%dT%H:%M:%S')}: {' '.join(map(str, command))}\n")
        log_file.flush()
        # The log is the record of the run (tools/plot_log.py reads it): keep Caffe's INFO lines
        # even where GLOG_minloglevel is set to quieten pycaffe.
        environment = dict(os.environ, GLOG_minloglevel="0", GLOG_logtostderr="1")
        result = subprocess.run(command, cwd=REPO_ROOT, stdout=log_file, stderr=subprocess.STDOUT, env=environment)
    if result.returncode != 0:
        log.error("caffe train exited with status %d; the end of %s says why", result.returncode, log_path)
    return result.returncode
