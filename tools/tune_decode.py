"""Choose a YUV-64 model's decoding on val and (with --card) write it into its model card.

    python tools/tune_decode.py data/photos/val.txt --model default --prior data/yuv64_prior_probs.npy \\
        --boost-lambda 0.2 -o docs/training/decode_default --card

What it does and why: colornet/evaluate/decode_tuning.py (shown below by --help).
"""
import argparse
import logging
import pathlib
import sys

from colornet.colorize.models import ModelError
from colornet.common import setup_logging
from colornet.evaluate import decode_tuning
from colornet.evaluate.decode_tuning import STRENGTHS, Boost, tune

log = logging.getLogger("tune_decode")


def strengths(text):
    """'0.5,0.75,1' → (0.5, 0.75, 1.0); each within 0-1."""
    try:
        values = tuple(float(part) for part in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a comma-separated list of numbers: {text!r}") from None
    if not all(0 <= value <= 1 for value in values):
        raise argparse.ArgumentTypeError(f"each share must be within 0-1: {text!r}")
    return values


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, epilog=decode_tuning.__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("photos", nargs="+", help="colour photos to choose on: the val split (data/photos/val.txt)")
    parser.add_argument("--model", help="model name in models/ or a deploy .prototxt (default: models/default)")
    parser.add_argument("--weights", help="weights .caffemodel (default: the model folder's)")
    parser.add_argument("--prior", required=True,
                        help="the class prior the weights were trained with (data/yuv64_prior_probs.npy, or "
                             "data/yuv64_prior_probs_grey.npy for a net whose loss counts grey)")
    parser.add_argument("--boost-lambda", type=float, required=True, help="the training's rebalancing λ (e.g. 0.2)")
    parser.add_argument("--count-grey", action="store_true", help="the net's loss counted the grey class")
    parser.add_argument("--backend", choices=("caffe", "opencv"), default=None)
    parser.add_argument("--max-side", type=int, default=512, help="long side photos are scored at (default 512)")
    parser.add_argument("-o", "--output", type=pathlib.Path, default=pathlib.Path("out/decode"),
                        help="folder for decode_sweep.md and .json (default out/decode)")
    parser.add_argument("--strengths", type=strengths, default=STRENGTHS, metavar="S,S,…",
                        help="shares of the rebalancing to try undoing, 0-1 (default "
                             f"{','.join(f'{x:g}' for x in STRENGTHS)})")
    parser.add_argument("--plain-margin", type=float, default=0.0, metavar="AUC",
                        help="the chosen decoding's plain AuC must be at least grey's plus this (default 0)")
    parser.add_argument("--card", action="store_true", help="write the choice into the model folder's model.json")
    parser.add_argument("-q", "--quiet", action="store_true", help="no progress bars")
    args = parser.parse_args(argv)
    setup_logging()
    boost = Boost(args.prior, args.boost_lambda, None if args.count_grey else 36)
    try:
        chosen, clause = tune(args.photos, args.model, args.weights, boost, args.output, args.card, args.backend,
                              args.max_side, not args.quiet, args.strengths, args.plain_margin)
    except (ModelError, OSError, ValueError) as error:
        log.error("%s", error)
        return 2
    log.info("chosen: undo %.2f of the boost, %s at T %.2f (%s); table: %s", chosen["strength"], chosen["decode"],
             chosen["temperature"], clause, args.output / "decode_sweep.md")
    return 0


if __name__ == "__main__":
    sys.exit(main())
