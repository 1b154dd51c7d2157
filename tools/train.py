"""Run `caffe train` on a solver, logging to a file and resuming from the newest snapshot.

    python tools/train.py prototxt/solver_color_lite.prototxt --log logs/color_lite.log
    python tools/train.py prototxt/solver_color_lite_rebalance.prototxt --log logs/color_lite_rebalance.log \
        --weights models/snapshots/color_lite_iter_2500.caffemodel

What it does and why: colornet/train/runner.py (shown below by --help).
"""
import argparse
import logging
import pathlib
import sys

from colornet.common import setup_logging
from colornet.train.runner import TrainError, train
from colornet.train import runner as runner_module

log = logging.getLogger("train")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, epilog=runner_module.__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("solver", type=pathlib.Path, help="solver .prototxt (paths inside are relative to the repo root)")
    parser.add_argument("--log", type=pathlib.Path, required=True, help="Caffe's output is appended here")
    parser.add_argument("--fresh", action="store_true", help="ignore existing snapshots and start at iteration 0")
    parser.add_argument("--gpu", help="GPU id(s) for a CUDA build of Caffe (default: the solver's mode)")
    parser.add_argument("--caffe", default="caffe", help="caffe binary (default: caffe on PATH)")
    parser.add_argument("--weights", type=pathlib.Path,
                        help="start from these weights (.caffemodel) when there is no snapshot to resume")
    args = parser.parse_args(argv)
    setup_logging()
    try:
        return train(args.solver, args.log, args.fresh, args.gpu, args.caffe, args.weights)
    except TrainError as error:
        log.error("%s", error)
        return 2


if __name__ == "__main__":
    sys.exit(main())
