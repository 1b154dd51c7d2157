"""Turn a `caffe train` log into a loss-curve PNG and a JSON summary of the numbers.

The training curve is Caffe's displayed loss (the solver's average_loss smoothing, e.g. a mean
over 20 iterations); test outputs (loss, accuracy) go on the same figure at their iterations.
A log that was resumed (tools/train.py appends) is read as one run: a later line for the same
iteration replaces the earlier one.

Several logs are read as consecutive stages of one training (a second stage that starts from the
first's weights counts its iterations from 0 again): each is shifted to start where the previous
one ended, the boundaries are marked, and the summary runs from the first stage's iteration 0
to the last stage's tail.

The command line: tools/plot_log.py.
"""
import logging
import pathlib
import re

import numpy as np



log = logging.getLogger("plot_log")

TRAIN_LOSS = re.compile(r"\] Iteration (\d+) \([^)]*\), loss = ([-+\w.]+)")
TEST_START = re.compile(r"\] Iteration (\d+), Testing net")
TEST_OUTPUT = re.compile(r"\]\s+Test net output #\d+: (\w+) = ([-+\w.]+)")
TRAIN_OUTPUT = re.compile(r"\]\s+Train net output #\d+: (\w+) = ([-+\w.]+)")
LEARNING_RATE = re.compile(r"\] Iteration (\d+), lr = ([-+\w.]+)")
SPEED = re.compile(r"\] Iteration (\d+) \(([\d.e+-]+) iter/s")


class NotACaffeLog(ValueError):
    """The file has no training iterations Caffe would have logged."""


def parse_log(lines):
    """{"train": {iteration: loss}, "test": {name: {iteration: value}}, "lr": {...}, "speed": {...}}."""
    train, tests, rates, speeds, outputs = {}, {}, {}, {}, {}
    test_iteration = train_iteration = None
    for line in lines:
        if match := TRAIN_LOSS.search(line):
            train_iteration = int(match.group(1))
            train[train_iteration] = float(match.group(2))
            test_iteration = None
        elif train_iteration is not None and (match := TRAIN_OUTPUT.search(line)):
            outputs.setdefault(match.group(1), {})[train_iteration] = float(match.group(2))
        if match := SPEED.search(line):
            if float(match.group(2)) > 0:  # Caffe prints a garbage rate for the first display
                speeds[int(match.group(1))] = float(match.group(2))
        if match := TEST_START.search(line):
            test_iteration = int(match.group(1))
        elif test_iteration is not None and (match := TEST_OUTPUT.search(line)):
            tests.setdefault(match.group(1), {})[test_iteration] = float(match.group(2))
        if match := LEARNING_RATE.search(line):
            rates[int(match.group(1))] = float(match.group(2))
    return {"train": dict(sorted(train.items())), "test": {k: dict(sorted(v.items())) for k, v in tests.items()},
            "lr": dict(sorted(rates.items())), "speed": dict(sorted(speeds.items())),
            "train_outputs": {k: dict(sorted(v.items())) for k, v in outputs.items()}}


def last_iteration(curves):
    return max([*curves["train"], *(i for values in curves["test"].values() for i in values)])


def join_stages(stages):
    """Curves of consecutive stages → one set of curves, each stage shifted to start where the
    previous one ended; "stages" lists the iteration at which each later stage starts."""
    joined = {"train": {}, "test": {}, "lr": {}, "speed": {}, "stages": []}
    offset = 0
    for index, curves in enumerate(stages):
        if index:
            offset += last_iteration(stages[index - 1])
            joined["stages"].append(offset)
        for key in ("train", "lr", "speed"):
            joined[key].update({offset + i: v for i, v in curves[key].items()})
        for name, values in curves["test"].items():
            joined["test"].setdefault(name, {}).update({offset + i: v for i, v in values.items()})
    return joined


def require_training(curves):
    if not curves["train"]:
        raise NotACaffeLog("no 'Iteration N (...), loss = X' lines")
    return curves


def summarize(curves, window=100):
    """Numbers the convergence criteria use: loss at iteration 0, mean over the last `window`
    iterations (of the displayed, already smoothed values), and the trend across the tail."""
    train = require_training(curves)["train"]
    iterations = list(train)
    last = iterations[-1]
    tail = [train[i] for i in iterations if i > last - window]
    before = [train[i] for i in iterations if last - 2 * window < i <= last - window]
    summary = {
        "first_iteration": iterations[0],
        "last_iteration": last,
        "initial_loss": train[iterations[0]],
        f"mean_loss_last_{window}": sum(tail) / len(tail),
        "tail_ratio": (sum(tail) / len(tail)) / train[iterations[0]] if train[iterations[0]] else None,
        f"mean_loss_previous_{window}": sum(before) / len(before) if before else None,
    }
    if curves["speed"]:
        speeds = list(curves["speed"].values())
        summary["median_iter_per_s"] = sorted(speeds)[len(speeds) // 2]
    for name, values in curves["test"].items():
        summary[f"test_{name}_last"] = list(values.values())[-1]
        summary[f"test_{name}_at"] = list(values)[-1]
    return summary


def new_figure():
    """(figure, axis) on the file-only backend, the size every curve here is drawn at."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    return plt.subplots(figsize=(7, 4), dpi=100)


def save_figure(figure, output):
    """Write the PNG beside its target and rename it, so a failed draw leaves the old one."""
    import matplotlib.pyplot as plt
    figure.tight_layout()
    output.parent.mkdir(parents=True, exist_ok=True)
    staging = output.with_name(f".{output.name}.partial.png")
    figure.savefig(staging)
    plt.close(figure)
    staging.replace(output)


def plot(curves, output, title):
    figure, loss_axis = new_figure()
    train = curves["train"]
    loss_axis.plot(list(train), list(train.values()), color="tab:blue", linewidth=1, label="train loss")
    val_loss = next((name for name in curves["test"] if "loss" in name), None)  # loss, loss8_313, …
    if val_loss:
        test = curves["test"][val_loss]
        loss_axis.plot(list(test), list(test.values()), "o-", color="tab:orange", markersize=3, label="val loss")
    # A val loss before any training (BatchNorm with no statistics yet) can be 20× the rest;
    # keep the scale of the training curve and say what is off it.
    top = 1.15 * max(train.values())
    off_scale = {i: v for i, v in curves["test"].get(val_loss, {}).items() if v > top}
    if off_scale:
        loss_axis.set_ylim(bottom=0, top=top)
        note = ", ".join(f"{v:.4g} at {i}" for i, v in off_scale.items())
        loss_axis.annotate(f"val loss off scale: {note}", xy=(0.02, 0.02), xycoords="axes fraction", fontsize=8)
    for start in curves.get("stages", []):
        loss_axis.axvline(start, color="grey", linestyle=":", linewidth=1)
        loss_axis.annotate("next stage ", xy=(start, 0.5), xycoords=("data", "axes fraction"), fontsize=8,
                           color="grey", rotation=90, ha="right", va="center")
    loss_axis.set_xlabel("iteration")
    loss_axis.set_ylabel("loss")
    loss_axis.grid(alpha=0.3)
    handles, labels = loss_axis.get_legend_handles_labels()
    if "accuracy" in curves["test"]:
        accuracy_axis = loss_axis.twinx()
        accuracy = curves["test"]["accuracy"]
        accuracy_axis.plot(list(accuracy), list(accuracy.values()), "s--", color="tab:green", markersize=3,
                           label="val accuracy")
        accuracy_axis.set_ylabel("accuracy")
        extra_handles, extra_labels = accuracy_axis.get_legend_handles_labels()
        handles, labels = handles + extra_handles, labels + extra_labels
    loss_axis.legend(handles, labels, loc="upper right")
    loss_axis.set_title(title)
    save_figure(figure, output)


def plot_side_by_side(runs, name, output, title, smooth=10):
    """Several runs on one figure: the train net's output `name` (a moving mean over `smooth`
    displays: Caffe prints it unsmoothed) and the val net's, one colour per run."""
    figure, axis = new_figure()
    for (label, curves), colour in zip(runs.items(), ("tab:blue", "tab:red", "tab:green", "tab:purple")):
        train = curves["train_outputs"].get(name)
        if not train:
            raise NotACaffeLog(f"{label}: no train net output named {name}")
        window = min(smooth, len(train))  # a short log: the mean of what there is
        values = np.convolve(list(train.values()), np.ones(window) / window, mode="valid")
        axis.plot(list(train)[window - 1:], values, color=colour, linewidth=1, alpha=0.7, label=f"{label}: train")
        test = curves["test"].get(name, {})
        axis.plot(list(test), list(test.values()), "o-", color=colour, markersize=4, label=f"{label}: val")
    axis.set_xlabel("iteration")
    axis.set_ylabel(f"{name} (log scale)")
    axis.set_yscale("log")  # early val passes (BatchNorm statistics not yet usable) can be 10× the rest
    axis.grid(alpha=0.3)
    axis.legend(loc="upper right", fontsize=8)
    axis.set_title(title)
    save_figure(figure, output)


def read_log(path):
    """Curves of one log file; NotACaffeLog (naming the file) if it cannot be read or parsed."""
    try:
        with open(path, errors="replace") as handle:
            return parse_log(handle)
    except OSError as error:
        raise NotACaffeLog(f"{path}: cannot read: {error.strerror}") from None


def compare_runs(log_files, output_name, output, title=None):
    """Draw several logs as separate runs by one net output (train and val) into `output`."""
    runs = {pathlib.Path(path).stem: read_log(path) for path in log_files}
    plot_side_by_side(runs, output_name, output, title or " vs ".join(runs))
    log.info("wrote %s", output)


def plot_stages(log_files, output, title=None, window=100):
    """Draw consecutive training stages' logs as one curve into `output`; returns the summary."""
    stages = []
    for path in log_files:
        try:
            stages.append(require_training(read_log(path)))
        except NotACaffeLog as error:
            message = str(error)
            raise NotACaffeLog(message if message.startswith(str(path)) else
                               f"{path}: not a Caffe training log: {message}") from None
    curves = join_stages(stages) if len(stages) > 1 else stages[0]
    summary = summarize(curves, window)
    if len(stages) > 1:
        summary["stages_start_at"] = curves["stages"]
    plot(curves, output, title or " + ".join(pathlib.Path(path).stem for path in log_files))
    log.info("wrote %s", output)
    return summary
