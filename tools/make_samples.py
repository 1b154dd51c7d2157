"""Make data/samples/: a handful of small black-and-white photos for the demo and the tests.

    python tools/make_samples.py data/photos/val.txt -o data/samples --count 6

Picks --count photos of the list (evenly spread, so the choice is stable), greys them, brings
the long side down to --side pixels and writes them as JPEG. Use the val split: the default model
has not seen those photos.
"""
import argparse
import logging
import pathlib
import sys

from colornet.common import setup_logging
from colornet.data.demo_samples import TooFewPhotos, make_samples
from colornet.photo_io import UnreadableImage

log = logging.getLogger("make_samples")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("photos", nargs="+", help="colour photos: files, folders or .txt lists")
    parser.add_argument("-o", "--output", type=pathlib.Path, default=pathlib.Path("data/samples"))
    parser.add_argument("--count", type=int, default=6, help="how many samples (default 6)")
    parser.add_argument("--side", type=int, default=480, help="long side in pixels (default 480)")
    args = parser.parse_args(argv)
    setup_logging()
    try:
        make_samples(args.photos, args.output, args.count, args.side)
    except TooFewPhotos as error:
        log.error("%s", error)
        return 2
    except UnreadableImage as error:
        log.error("%s", error)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
