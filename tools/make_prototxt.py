"""Generate every colornet net and solver into prototxt/ with caffe.NetSpec.

What it does and why: colornet/nets/generate.py (shown below by --help).
"""
import argparse
import logging
import pathlib
import sys

from colornet.common import REPO_ROOT, setup_logging
from colornet.nets.generate import write_generated
from colornet.nets import generate as generate_module

log = logging.getLogger("make_prototxt")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, epilog=generate_module.__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--output", type=pathlib.Path, default=REPO_ROOT / "prototxt",
                        help="folder to write into (default prototxt/)")
    args = parser.parse_args(argv)
    setup_logging()
    write_generated(args.output)
    return 0


if __name__ == "__main__":
    sys.exit(main())
