#!/usr/bin/env python3
"""Compare two tools/evaluate.py folders photo by photo (the same photos, two models).

    python tools/compare_evals.py out/eval_default_val out/eval_lab_val --names default lab -o out/paired.md
"""
import argparse
import logging
import pathlib
import sys

from colornet.common import atomic_write_bytes, setup_logging
from colornet.evaluate import paired

log = logging.getLogger("compare_evals")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, epilog=paired.__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("a", type=pathlib.Path, help="evaluation folder of model A (holds per_photo.csv)")
    parser.add_argument("b", type=pathlib.Path, help="evaluation folder of model B, same photos")
    parser.add_argument("--names", nargs=2, default=("A", "B"), metavar=("A", "B"), help="names in the table")
    parser.add_argument("-o", "--output", type=pathlib.Path, help="write the table here (markdown) as well")
    args = parser.parse_args(argv)
    setup_logging()
    try:
        text = paired.table(paired.compare(args.a, args.b), *args.names)
    except paired.PairingError as error:
        log.error("%s", error)
        return 2
    log.info("\n%s", text)
    if args.output:
        atomic_write_bytes(args.output, text.encode())
    return 0


if __name__ == "__main__":
    sys.exit(main())
