"""Turn a `caffe train` log into a loss-curve PNG and a JSON summary of the numbers.

    python tools/plot_log.py logs/color_lite.log -o docs/training/color_lite.png
    python tools/plot_log.py logs/color_lite.log logs/color_lite_rebalance.log -o docs/training/color_lite_two_stage.png

What it does and why: colornet/train/log_plot.py (shown below by --help).
"""
import argparse
import json
import logging
import pathlib
import sys

from colornet.common import setup_logging
from colornet.train.log_plot import NotACaffeLog, compare_runs, plot_stages
from colornet.train import log_plot as log_plot_module

log = logging.getLogger("plot_log")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, epilog=log_plot_module.__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("log_files", type=pathlib.Path, nargs="+",
                        help="output of `caffe train` (e.g. logs/color_lite.log); several: consecutive stages")
    parser.add_argument("-o", "--output", type=pathlib.Path, help="PNG to write (default: beside the log, .png)")
    parser.add_argument("--summary", type=pathlib.Path, help="also write the numbers as JSON here")
    parser.add_argument("--title", help="figure title (default: the log's name)")
    parser.add_argument("--window", type=int, default=100, help="iterations in the tail mean (default 100)")
    parser.add_argument("--side-by-side", metavar="OUTPUT_NAME",
                        help="draw the logs as separate runs on one figure, by this net output (train and val), "
                             "e.g. loss8_313 to compare the two Lab/313 nets")
    args = parser.parse_args(argv)
    setup_logging()
    try:
        if args.side_by_side:
            compare_runs(args.log_files, args.side_by_side, args.output or args.log_files[0].with_suffix(".compare.png"),
                         args.title)
            return 0
        summary = plot_stages(args.log_files, args.output or args.log_files[0].with_suffix(".png"), args.title,
                              args.window)
    except NotACaffeLog as error:
        log.error("%s", error)
        return 2
    text = json.dumps(summary, indent=2)
    if args.summary:
        args.summary.parent.mkdir(parents=True, exist_ok=True)
        args.summary.write_text(text + "\n")
    log.info("summary: %s", text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
