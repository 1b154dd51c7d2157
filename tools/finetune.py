"""Make a model for your kind of photos: fine-tune the shipped model on your own colour photos.

    python3 tools/finetune.py PHOTOS --name mine [--minutes 30]      (make finetune PHOTOS=DIR NAME=mine)
    python3 tools/use_trained_model.py old_scans/ --model mine

PHOTOS: folders, files or .txt lists of colour photos of the kind you want coloured (any format
the other tools read; at least 20 usable ones). A seeded 10 % of them (at least 5) is held out;
the rest become training records; the default model's net trains on them for --minutes of wall
clock; every snapshot is scored on the held-out photos at a few temperatures, and the best is
exported as models/NAME with a model card. Grey and unreadable photos are skipped and counted.
Interrupted, or run again with the same NAME: it continues from its newest snapshot (the same
held-out photos), for another --minutes. models/NAME is replaced only when a new one is complete.
"""
import argparse
import logging
import os
import sys

from colornet.colorize.models import ModelError
from colornet.common import OutputExists, setup_logging
from colornet.train.finetune import FinetuneError, FinetuneOptions

log = logging.getLogger("finetune")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("photos", nargs="+", help="your colour photos: folders, files or .txt lists")
    parser.add_argument("--name", required=True, help="the new model's name: models/NAME, --model NAME")
    parser.add_argument("--minutes", type=float, default=30, help="wall-clock training time (default 30)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the held-out split and the crops (default 0)")
    parser.add_argument("--iterations", type=int, help="stop after this many iterations even if time is left")
    parser.add_argument("--min-photos", type=int, default=20, help=argparse.SUPPRESS)
    parser.add_argument("--workers", type=int, default=2, help="processes building the records (default 2)")
    parser.add_argument("-q", "--quiet", action="store_true", help="no progress bars")
    args = parser.parse_args(argv)
    if args.minutes <= 0 or (args.iterations is not None and args.iterations < 1):
        parser.error("--minutes must be positive and --iterations at least 1")
    setup_logging()
    os.environ.setdefault("GLOG_minloglevel", "2")
    from colornet.train import tuning
    options = FinetuneOptions(args.photos, args.name, args.minutes, seed=args.seed, iterations=args.iterations,
                              min_photos=args.min_photos, workers=args.workers, quiet=args.quiet)
    try:
        card, table, sheet = tuning.run(options)
    except (FinetuneError, ModelError, OutputExists, OSError) as error:
        log.error("%s", error)
        return 2
    sys.stdout.write(f"{table}\n")
    log.info("wrote models/%s (temperature %g; %s); before/after on held-out photos: %s", args.name,
             card["temperature"], card["snapshot_chosen"], sheet)
    log.info("use it: python3 tools/use_trained_model.py PHOTOS --model %s", args.name)
    return 0


if __name__ == "__main__":
    sys.exit(main())
