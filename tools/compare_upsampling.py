"""Crops of colorized photos with cubic and with guided chroma upsampling, side by side, where

    python tools/compare_upsampling.py data/photos/test.txt -o docs/upsampling.jpg
    python tools/compare_upsampling.py data/photos/test.txt --chroma model -o docs/upsampling-model.jpg

What it does and why: colornet/evaluate/upsampling.py (shown below by --help).
"""
import argparse
import logging
import pathlib
import sys

from colornet.colorize.models import ModelError
from colornet.common import exit_status, setup_logging
from colornet.evaluate.upsampling import compare_upsampling
from colornet.evaluate import upsampling as upsampling_module

log = logging.getLogger("compare_upsampling")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, epilog=upsampling_module.__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("photos", nargs="+", help="colour photos: files, folders or .txt lists")
    parser.add_argument("-o", "--output", type=pathlib.Path, default=pathlib.Path("docs/upsampling.jpg"))
    parser.add_argument("--model", help="model name in models/ (default: default)")
    parser.add_argument("--count", type=int, default=4, help="rows: the photos where the two differ most (default 4)")
    parser.add_argument("--crop", type=int, default=96, help="crop side in pixels (default 96)")
    parser.add_argument("--max-side", type=int, default=768, help="photos are brought down to this long side first")
    parser.add_argument("--chroma", choices=("truth", "model"), default="truth",
                        help="low-resolution chroma: the photo's own (isolates the upsampling; default) or the net's")
    args = parser.parse_args(argv)
    setup_logging()
    return exit_status(log, lambda: compare_upsampling(args.photos, args.output, args.model, args.count, args.crop,
                                                       args.max_side, args.chroma),
                       ModelError, ValueError, status=2)


if __name__ == "__main__":
    sys.exit(main())
