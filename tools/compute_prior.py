"""Measure the empirical prior over the 313 ab bins on your photos, for class rebalancing.

    python tools/compute_prior.py data/photos/train.txt -o data/prior_probs.npy
    python tools/compute_prior.py data/train_bgr_lmdb -o my_prior.npy

What it does and why: colornet/data/prior.py (shown below by --help).
"""
import argparse
import logging
import pathlib
import sys

from colornet.common import setup_logging
from colornet.data.prior import compute_prior
from colornet.colour import lab313
from colornet.data import prior as prior_module

log = logging.getLogger("compute_prior")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, epilog=prior_module.__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("inputs", nargs="+", help="photo files, folders, .txt lists, or one BGR LMDB folder")
    parser.add_argument("-o", "--output", type=pathlib.Path, default=pathlib.Path("data/prior_probs.npy"),
                        help="where to write the 313 probabilities (default data/prior_probs.npy)")
    parser.add_argument("--centres", default=lab313.DEFAULT_CENTRES, help="bin centres .npy (default %(default)s)")
    parser.add_argument("--sigma", type=float, default=5.0, help="Gaussian smoothing in ab units (default 5)")
    parser.add_argument("--side", type=int, default=256, help="short side photos are read at (default 256)")
    args = parser.parse_args(argv)
    setup_logging()
    try:
        skipped = compute_prior(args.inputs, args.output, args.centres, args.sigma, args.side)
    except ValueError as error:
        log.error("%s", error)
        return 2
    return 0 if not skipped else 1


if __name__ == "__main__":
    sys.exit(main())
