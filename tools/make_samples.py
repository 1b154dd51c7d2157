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

if __package__ in (None, ""):  # run as `python tools/make_samples.py`: make the repo importable
    sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1]))

import cv2

from tools.common import atomic_write_bytes, setup_logging
from tools.photo_io import UnreadableImage, list_images, read_bgr

log = logging.getLogger("make_samples")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("photos", nargs="+", help="colour photos: files, folders or .txt lists")
    parser.add_argument("-o", "--output", type=pathlib.Path, default=pathlib.Path("data/samples"))
    parser.add_argument("--count", type=int, default=6, help="how many samples (default 6)")
    parser.add_argument("--side", type=int, default=480, help="long side in pixels (default 480)")
    args = parser.parse_args(argv)
    setup_logging()
    photos = list_images(args.photos)
    if len(photos) < args.count:
        log.error("only %d photos in %s, need %d", len(photos), " ".join(args.photos), args.count)
        return 2
    step = len(photos) / args.count
    chosen = [photos[int(i * step)] for i in range(args.count)]
    args.output.mkdir(parents=True, exist_ok=True)
    for path in chosen:
        try:
            bgr = read_bgr(path)
        except UnreadableImage as error:
            log.error("%s", error)
            return 1
        scale = args.side / max(bgr.shape[:2])
        if scale < 1:
            bgr = cv2.resize(bgr, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
        grey = cv2.cvtColor(bgr, cv2.COLOR_BGR2GRAY)
        target = args.output / f"{path.stem}.jpg"
        atomic_write_bytes(target, cv2.imencode(".jpg", grey, [cv2.IMWRITE_JPEG_QUALITY, 90])[1].tobytes())
        log.info("wrote %s (from %s)", target, path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
