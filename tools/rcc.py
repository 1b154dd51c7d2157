"""Read Qt binary resource archives (``.rcc``), as GCompris ships its pictures.

What it does and why: colornet/data/rcc.py (shown below by --help).
"""
import argparse
import logging
import pathlib
import sys

from colornet.data.rcc import RccArchive, RccError
from colornet.data import rcc as rcc_module

log = logging.getLogger("rcc")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, epilog=rcc_module.__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("archive", help="the .rcc file")
    parser.add_argument("--extract", metavar="PATH", help="write this member to --output")
    parser.add_argument("--output", "-o", help="where --extract writes (default: the member's name)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(name)s: %(message)s")
    try:
        archive = RccArchive.open(args.archive)
        if args.extract:
            target = pathlib.Path(args.output or pathlib.PurePosixPath(args.extract).name)
            target.write_bytes(archive.read(args.extract))
            log.info("wrote %s", target)
        else:
            sys.stdout.write("".join(f"{path}\n" for path in archive.paths()))
    except (OSError, RccError, KeyError) as err:
        log.error("%s", err)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
