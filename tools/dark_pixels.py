"""Where blue shadows come from: true classes of the darkest pixels beside the net's prediction.

    python tools/dark_pixels.py data/photos/val.txt --model default -o out/dark_pixels.md

What it does and why: colornet/evaluate/dark_pixels.py (shown below by --help).
"""
import argparse
import json
import logging
import pathlib
import sys

from colornet.colorize import families
from colornet.colorize.models import Model, ModelError
from colornet.common import atomic_write_bytes, setup_logging
from colornet.evaluate import dark_pixels
from colornet.photo_io import list_images

log = logging.getLogger("dark_pixels")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, epilog=dark_pixels.__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("photos", nargs="+", help="colour photos: files, folders or .txt lists")
    parser.add_argument("--model", help="model name in models/ or a deploy .prototxt (default: models/default)")
    parser.add_argument("--weights", help="weights .caffemodel (default: the model folder's)")
    parser.add_argument("--raw", action="store_true", help="the net's own distribution, without the card's calibration")
    parser.add_argument("-o", "--output", type=pathlib.Path, help="write the table (.md) and the report (.json beside it)")
    args = parser.parse_args(argv)
    setup_logging()
    photos = list_images(args.photos)
    if not photos:
        log.error("no photos in %s", " ".join(args.photos))
        return 2
    try:
        model = Model.resolve(args.model, args.weights)
        if not families.family(model.family).has_classes:
            raise ModelError(f"{model.deploy}: the dark-pixel report is for YUV-64 models")
        report = dark_pixels.dark_pixel_report(photos, model, calibrate=not args.raw)
    except (ModelError, ValueError) as error:
        log.error("%s", error)
        return 2
    text = dark_pixels.markdown(report, " ".join(args.photos))
    sys.stdout.write(text)
    if args.output:
        atomic_write_bytes(args.output, text.encode())
        atomic_write_bytes(args.output.with_suffix(".json"), json.dumps(report, indent=1).encode())
    return 0


if __name__ == "__main__":
    sys.exit(main())
