"""Score a colornet model on colour photos: grey each one, colorize it, compare with the original.

    python tools/evaluate.py data/photos/val.txt --model default -o out/eval

What it does and why: colornet/evaluate/scoring.py (shown below by --help).
"""
import argparse
import json
import logging
import pathlib
import sys

from colornet.colorize import settings as colour_settings
from colornet.colorize.pipeline import Colorizer
from colornet.colorize.models import Model, ModelError
from colornet.common import setup_logging
from colornet.evaluate.scoring import score_lists, side_by_side_table
from colornet.evaluate import scoring as scoring_module

log = logging.getLogger("evaluate")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, epilog=scoring_module.__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("photos", nargs="+", help="colour photos: files, folders or .txt lists (e.g. data/photos/val.txt)")
    parser.add_argument("--splits", action="store_true",
                        help="score each .txt list on its own (e.g. val.txt test.txt) into OUTPUT/NAME/, and "
                             "write OUTPUT/splits.md with them side by side")
    parser.add_argument("--model", help="model name in models/ or a deploy .prototxt (default: models/default)")
    parser.add_argument("--weights", help="weights .caffemodel (default: the model folder's)")
    parser.add_argument("--backend", choices=("caffe", "opencv"), default="caffe")
    colour_settings.add_arguments(parser, output=False)
    parser.add_argument("--max-side", type=int, default=512, help="long side photos are scored at (default 512)")
    parser.add_argument("-o", "--output", type=pathlib.Path, default=pathlib.Path("out/eval"),
                        help="folder for summary.json, per_photo.csv, cdf.png (default out/eval)")
    parser.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    args = parser.parse_args(argv)
    settings = colour_settings.from_arguments(args, parser)
    setup_logging()
    try:
        model = Model.resolve(args.model, args.weights)
        colorizer = Colorizer(model, args.backend, settings)
        summaries = score_lists(args.photos, colorizer, args.output, args.splits, args.max_side, args.quiet)
    except (ModelError, ValueError) as error:
        log.error("%s", error)
        return 2
    if args.splits:
        sys.stdout.write(side_by_side_table(summaries))
    else:
        sys.stdout.write(json.dumps(summaries["photos"], indent=2) + "\n")  # the result itself, for pipes
    return 0


if __name__ == "__main__":
    sys.exit(main())
