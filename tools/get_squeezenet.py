"""Fetch and decode the ImageNet-trained SqueezeNet v1.0 (Deep Compression's packed file) into
models/squeezenet/: the classifier, the grey trunk the colour nets start from, and its licence.

With no internet, PHOTO_MIRROR=DIR (or --mirror DIR) names a folder with a clone of
songhan/SqueezeNet-Deep-Compression named songhan+SqueezeNet-Deep-Compression.
"""
import argparse
import logging
import pathlib
import sys

from colornet.common import exit_status, setup_logging
from colornet.nets.squeezenet import PackedFormatError
from colornet.train import pretrained

log = logging.getLogger("get_squeezenet")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("-o", "--output", type=pathlib.Path, default=pretrained.OUTPUT,
                        help="folder to write (default: models/squeezenet)")
    parser.add_argument("--mirror", help="folder of clones named owner+name (default: $PHOTO_MIRROR)")
    parser.add_argument("--force", action="store_true", help="decode again even if the folder is complete")
    parser.add_argument("--verbose", "-v", action="store_true")
    args = parser.parse_args(argv)
    setup_logging(args.verbose)
    return exit_status(log, lambda: pretrained.install(args.output, args.mirror, args.force),
                       pretrained.PretrainedError, PackedFormatError, OSError)


if __name__ == "__main__":
    sys.exit(main())
