"""Pixel accuracy of a YUV-64 net on a YUV-64 LMDB, beside the most-frequent-class baseline.

    python tools/val_accuracy.py data/val_lmdb --deploy prototxt/deploy_color_lite.prototxt \\
        --weights models/snapshots/color_lite_iter_1500.caffemodel
    python tools/val_accuracy.py data/train_lmdb --limit 400 --boost-lambda 0.2 \
        --deploy prototxt/deploy_color_lite.prototxt --weights models/snapshots/color_lite_rebalance_iter_500.caffemodel

What it does and why: colornet/evaluate/val_accuracy.py (shown below by --help).
"""
import argparse
import json
import logging
import pathlib
import sys

from colornet.colorize.models import ModelError
from colornet.common import setup_logging
from colornet.evaluate.val_accuracy import val_accuracy
from colornet.colour import yuv64
from colornet.evaluate import val_accuracy as val_accuracy_module

log = logging.getLogger("val_accuracy")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, epilog=val_accuracy_module.__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("lmdb", type=pathlib.Path, help="YUV-64 LMDB (e.g. data/val_lmdb)")
    parser.add_argument("--deploy", type=pathlib.Path, required=True, help="deploy_color*.prototxt or deploy_fcn*.prototxt")
    parser.add_argument("--weights", type=pathlib.Path, required=True, help="trained .caffemodel")
    parser.add_argument("--limit", type=int, help="score only the first N records")
    parser.add_argument("--boost-lambda", type=float,
                        help="also report the loss rebalanced with this λ (as ClassBoostLayer weights it)")
    parser.add_argument("--prior", type=pathlib.Path, default=pathlib.Path(yuv64.DEFAULT_PRIOR),
                        help=f"class prior for --boost-lambda (default {yuv64.DEFAULT_PRIOR})")
    parser.add_argument("-o", "--output", type=pathlib.Path, help="also write the JSON here")
    args = parser.parse_args(argv)
    setup_logging()
    if args.limit is not None and args.limit < 1:
        parser.error(f"--limit must be at least 1, got {args.limit}")
    try:
        result = val_accuracy(args.lmdb, args.deploy, args.weights, args.limit, args.boost_lambda, args.prior)
    except (FileNotFoundError, ModelError, ValueError) as error:
        log.error("%s", error)
        return 2
    text = json.dumps(result, indent=2)
    if args.output:
        args.output.parent.mkdir(parents=True, exist_ok=True)
        args.output.write_text(text + "\n")
    sys.stdout.write(text + "\n")  # the result itself, for pipes (logs go to stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
