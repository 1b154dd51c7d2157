#!/usr/bin/env python3
"""Draw several models' decoding sweeps (tools/tune_decode.py) on one plain/rebalanced AuC plane.

    python tools/plot_sweeps.py yuv64=docs/training/squeeze/decode_sweep_head_2000_val/decode_sweep.json \
        lab313=docs/training/squeeze_lab/decode_sweep_4000_val/decode_sweep.json --target 1 4 -o out/sweeps.png
"""
import argparse
import logging
import pathlib
import sys

from colornet.common import setup_logging
from colornet.evaluate import sweep_plot

log = logging.getLogger("plot_sweeps")


def labelled(text):
    label, separator, path = text.partition("=")
    if not separator or not label or not path:
        raise argparse.ArgumentTypeError(f"give each sweep as LABEL=PATH/decode_sweep.json; got '{text}'")
    return label, pathlib.Path(path)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, epilog=sweep_plot.__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("sweeps", nargs="+", type=labelled, metavar="LABEL=JSON",
                        help="a model's decode_sweep.json, named for the legend")
    parser.add_argument("--target", nargs=2, type=float, metavar=("PLAIN", "REBALANCED"),
                        help="margins over grey to draw as a box (e.g. an issue's bar: 1 4)")
    parser.add_argument("--title", default="decodings on the same photos: plain against rebalanced AuC")
    parser.add_argument("-o", "--output", type=pathlib.Path, default=pathlib.Path("out/sweeps.png"),
                        help="PNG to write (default %(default)s)")
    args = parser.parse_args(argv)
    setup_logging()
    try:
        sweep_plot.write_png(args.sweeps, args.output, args.title, args.target)
    except sweep_plot.SweepError as error:
        log.error("%s", error)
        return 2
    log.info("wrote %s", args.output)
    return 0


if __name__ == "__main__":
    sys.exit(main())
