"""Training (snapshots, resume) and log plots, tools/train.py and tools/plot_log.py, on a real,
tiny `caffe train` run."""
import json

import pytest

from tests.conftest import REPO_ROOT, convolution_weights, run_tool, write_tiny_train_net
from colornet.train import log_plot as plot_log
from colornet.train import runner as train


def write_solver(tmp_path, lmdb_path, max_iter, prefix="tiny", base_lr=0.001):
    net = write_tiny_train_net(tmp_path, "color_lite", lmdb_path, batch=2)
    solver = tmp_path / "solver.prototxt"
    solver.write_text(
        f'net: "{net}"\ntype: "Adam"\nbase_lr: {base_lr}\nlr_policy: "fixed"\n'
        f'max_iter: {max_iter}\nsnapshot: 2\nsnapshot_prefix: "{tmp_path / "snap" / prefix}"\n'
        f'display: 1\ntest_interval: 2\ntest_iter: 1\nsolver_mode: CPU\nrandom_seed: 1\n')
    return solver


def conv_weights(deploy, caffemodel):
    import caffe
    return convolution_weights(caffe.Net(str(deploy), str(caffemodel), caffe.TEST))


def test_second_stage_starts_from_the_first_stages_weights(tmp_path, tiny_lmdb):
    stage1 = write_solver(tmp_path, tiny_lmdb, max_iter=2)
    assert train.train(stage1, tmp_path / "stage1.log") == 0
    first = tmp_path / "snap" / "tiny_iter_2.caffemodel"

    missing = tmp_path / "snap" / "nothing.caffemodel"
    stage2 = write_solver(tmp_path, tiny_lmdb, max_iter=2, prefix="stage2", base_lr=0)
    with pytest.raises(train.TrainError, match="nothing.caffemodel: no such weights file"):
        train.train(stage2, tmp_path / "stage2.log", weights=missing)

    assert train.train(stage2, tmp_path / "stage2.log", weights=first) == 0
    assert f"--weights={first}" in (tmp_path / "stage2.log").read_text()
    # lr 0: stage 2 keeps exactly the weights it started from (a fresh start would not).
    deploy = REPO_ROOT / "prototxt/deploy_color_lite.prototxt"
    before, after = conv_weights(deploy, first), conv_weights(deploy, tmp_path / "snap" / "stage2_iter_2.caffemodel")
    assert before.keys() == after.keys() and all((before[k] == after[k]).all() for k in before)

    # The two logs plot as one run: stage 2's iterations follow stage 1's.
    summary = tmp_path / "two.json"
    result = run_tool("plot_log", tmp_path / "stage1.log", tmp_path / "stage2.log", "-o", tmp_path / "two.png",
                      "--summary", summary, "--window", "1")
    assert result.returncode == 0, result.stderr
    numbers = json.loads(summary.read_text())
    stage1 = plot_log.parse_log((tmp_path / "stage1.log").read_text().splitlines())
    stage2 = plot_log.parse_log((tmp_path / "stage2.log").read_text().splitlines())
    assert numbers["stages_start_at"] == [2] and numbers["last_iteration"] == 3
    assert numbers["initial_loss"] == stage1["train"][0]
    assert numbers["mean_loss_last_1"] == stage2["train"][1]
    joined = plot_log.join_stages([stage1, stage2])
    assert list(joined["train"]) == [0, 1, 2, 3] and joined["train"][2] == stage2["train"][0]
    assert (tmp_path / "two.png").read_bytes()[:4] == b"\x89PNG"

    # Once the stage has a snapshot, it resumes from it and no longer reads --weights.
    assert train.train_command("s.prototxt", "snap/stage2_iter_2.solverstate", weights=first) == \
        ["caffe", "train", "--solver=s.prototxt", "--snapshot=snap/stage2_iter_2.solverstate"]


def test_train_snapshots_then_resumes_and_the_log_plots(tmp_path, tiny_lmdb):
    log_path = tmp_path / "logs" / "tiny.log"
    solver = write_solver(tmp_path, tiny_lmdb, max_iter=4)
    result = run_tool("train", solver, "--log", log_path)
    assert result.returncode == 0, result.stderr
    assert train.latest_solverstate(tmp_path / "snap" / "tiny").name == "tiny_iter_4.solverstate"

    # A longer schedule picks up from iteration 4 rather than starting again.
    solver = write_solver(tmp_path, tiny_lmdb, max_iter=6)
    assert train.train(solver, log_path) == 0
    text = log_path.read_text()
    assert "--snapshot=" in text and "tiny_iter_4.solverstate" in text
    assert (tmp_path / "snap" / "tiny_iter_6.caffemodel").exists()

    curves = plot_log.parse_log(text.splitlines())
    assert list(curves["train"]) == [0, 1, 2, 3, 4, 5]  # one continuous run across the resume
    assert set(curves["test"]) == {"accuracy", "loss"}
    png = tmp_path / "tiny.png"
    numbers = plot_log.plot_stages([log_path], png, window=3)
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert numbers["last_iteration"] == 5
    assert numbers["initial_loss"] == curves["train"][0]


def test_fresh_ignores_snapshots_and_bad_solver_fails_clearly(tmp_path, tiny_lmdb):
    result = run_tool("train", tmp_path / "missing.prototxt", "--log", tmp_path / "x.log")
    assert result.returncode == 2 and "missing.prototxt: no such solver file" in result.stderr
    (tmp_path / "snap").mkdir()
    (tmp_path / "snap" / "tiny_iter_10.solverstate").write_bytes(b"")
    (tmp_path / "snap" / "tiny_iter_9.solverstate").write_bytes(b"")
    (tmp_path / "snap" / "tinyer_iter_99.solverstate").write_bytes(b"")
    assert train.latest_solverstate(tmp_path / "snap" / "tiny").name == "tiny_iter_10.solverstate"
    command = train.train_command("s.prototxt", None)
    assert command == ["caffe", "train", "--solver=s.prototxt"]


def test_plot_log_rejects_a_file_that_is_not_a_caffe_log(tmp_path):
    not_a_log = tmp_path / "notes.txt"
    not_a_log.write_text("hello\n")
    result = run_tool("plot_log", not_a_log)
    assert result.returncode == 2 and "notes.txt: not a Caffe training log" in result.stderr
    assert not (tmp_path / "notes.png").exists()


def test_plot_log_side_by_side_reads_one_net_output_from_each_run(tmp_path):
    """Two runs drawn by one named output; a short run (fewer displays than the smoothing window)
    still draws, and a name neither log has is one clear error."""
    def caffe_log(path, losses, val):
        lines = []
        for iteration, loss in enumerate(losses):
            lines += [f"I1201 00:00:00.0 1 solver.cpp:239] Iteration {iteration * 20} (1.0 iter/s, 20s/20 iters), loss = {loss * 1.2}",
                      f"I1201 00:00:00.0 1 solver.cpp:258]     Train net output #0: loss8_313 = {loss}"]
        lines += ["I1201 00:00:00.0 1 solver.cpp:347] Iteration 40, Testing net (#0)",
                  f"I1201 00:00:00.0 1 solver.cpp:414]     Test net output #0: loss8_313 = {val}"]
        path.write_text("\n".join(lines) + "\n")
        return str(path)
    python = caffe_log(tmp_path / "python.log", [9.0, 8.0, 7.5], 8.1)
    stock = caffe_log(tmp_path / "stock.log", [9.1, 8.2, 7.4], 8.0)
    assert plot_log.parse_log(open(stock).read().splitlines())["train_outputs"]["loss8_313"] == {0: 9.1, 20: 8.2, 40: 7.4}
    output = tmp_path / "compare.png"
    plot_log.compare_runs([python, stock], "loss8_313", output)
    assert output.stat().st_size > 10_000
    with pytest.raises(plot_log.NotACaffeLog, match="no train net output named loss"):
        plot_log.compare_runs([python, stock], "loss", tmp_path / "other.png")


def test_weights_may_be_caffes_comma_separated_list_each_file_checked(tmp_path):
    """The Lab/313 squeeze head starts from the trunk and its loss's constants (make train-squeeze-lab)."""
    solver = REPO_ROOT / "prototxt/solver_squeeze_lab.prototxt"
    trunk, constants = "models/default/weights.caffemodel", "prototxt/squeeze_lab_constants.caffemodel"
    with pytest.raises(train.TrainError, match="nothing.caffemodel: no such weights file"):
        train.train(solver, tmp_path / "lab.log", weights=f"{REPO_ROOT / constants},{tmp_path / 'nothing.caffemodel'}")
    assert not (tmp_path / "lab.log").exists()
    assert [str(train.repo_relative(REPO_ROOT / path)) for path in (trunk, constants)] == [trunk, constants]
