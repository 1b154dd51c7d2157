"""Generate every colornet net and solver into prototxt/ with caffe.NetSpec.

Four families, one module each under colornet/nets/ (common.py holds the shared Zhang trunk, Data
layers and solver skeleton):
- color.py: the YUV-64 color net (plain, HDF5, L2 regression, rebalanced stages), full and lite;
- fcn.py: FCN-8s on the YUV-64 classes, full and lite;
- lab313.py: Zhang et al.'s Lab/313 net with Python layers (the reference) and with stock layers
  only (lab313_stock, for GPUs and `caffe train -gpu all`), full and lite, plus the stock net's
  frozen constants (lab313_stock_constants.caffemodel, from data/pts_in_hull.npy and
  data/prior_probs.npy).
Every generated text file starts with a "generated — do not edit" header; tests regenerate into
a temporary folder and compare byte for byte.
"""
import argparse
import logging
import pathlib
import sys

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1]))  # run as a script: the repo's package

from colornet.common import REPO_ROOT, setup_logging
from colornet.nets.generate import write_generated

log = logging.getLogger("make_prototxt")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--output", type=pathlib.Path, default=REPO_ROOT / "prototxt",
                        help="folder to write into (default prototxt/)")
    args = parser.parse_args(argv)
    setup_logging()
    write_generated(args.output)
    return 0


if __name__ == "__main__":
    sys.exit(main())
