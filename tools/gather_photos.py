"""Gather colornet's training photos into data/photos/ with a manifest and a seeded train/val split.

What it does and why: colornet/data/gather.py (shown below by --help).
"""
import argparse
import dataclasses
import logging
import os
import pathlib
import sys

from colornet.common import REPO_ROOT, exit_status, setup_logging
from colornet.data.gather import TEST_PACKAGES, GatherError, GatherOptions, gather
from colornet.data import gather as gather_module

log = logging.getLogger("gather_photos")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, epilog=gather_module.__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--output", type=pathlib.Path, default=REPO_ROOT / "data" / "photos",
                        help="photo folder to (re)create (default: data/photos)")
    parser.add_argument("--gcompris-list", type=pathlib.Path,
                        default=REPO_ROOT / "data" / "sources" / "gcompris-photos.txt")
    parser.add_argument("--extended-list", type=pathlib.Path, action="append",
                        help="'## package version' list of more photos (repeatable; default: "
                             "data/sources/more-photos.txt and more-photos-2.txt; '' for none)")
    parser.add_argument("--test-packages", nargs="*", default=list(TEST_PACKAGES), metavar="PACKAGE",
                        help="source packages held out whole as the test split (default: %(default)s)")
    parser.add_argument("--public-list", type=pathlib.Path,
                        default=REPO_ROOT / "data" / "sources" / "public-photos.txt",
                        help="pinned public photo sets read from git ('' for none; default: %(default)s)")
    parser.add_argument("--mirror", default=os.environ.get("PHOTO_MIRROR"), metavar="DIR",
                        help="read the public sets from this folder of clones or bare snapshots named "
                             "owner+name instead of cloning GitHub (default: $PHOTO_MIRROR)")
    parser.add_argument("--no-wheels", action="store_true", help="leave out the scikit-image/-learn photos")
    parser.add_argument("--seed", type=int, default=0, help="seed of the train/val split (default 0)")
    parser.add_argument("--val-fraction", type=float, default=0.1, help="share of photos in val (default 0.1)")
    parser.add_argument("--force", action="store_true", help="gather again even if up to date")
    parser.add_argument("--verbose", "-v", action="store_true")
    args = parser.parse_args(argv)
    if args.extended_list is None:
        args.extended_list = [REPO_ROOT / "data" / "sources" / name
                              for name in ("more-photos.txt", "more-photos-2.txt")]
    args.extended_list = [path for path in args.extended_list if str(path) not in ("", ".")]
    if str(args.public_list) in ("", "."):
        args.public_list = None
    setup_logging(args.verbose)
    options = GatherOptions(**{field.name: getattr(args, field.name) for field in dataclasses.fields(GatherOptions)})
    return exit_status(log, lambda: gather(options), GatherError, OSError, ValueError)


if __name__ == "__main__":
    sys.exit(main())
