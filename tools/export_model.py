"""Turn a training snapshot into a self-contained model folder that use_trained_model.py loads.

    python tools/export_model.py --deploy prototxt/deploy_lab313_lite.prototxt \\
        --weights models/snapshots/lab313_lite_iter_1500.caffemodel -o models/default

Writes deploy.prototxt, weights.caffemodel and model.json. The weights are saved from the deploy
net, so they carry every blob, the constant ones included (conv8_313_rh's 2.606, class8_ab's bin
centres, the input centring): OpenCV's dnn and other loaders need nothing injected.
"""
import argparse
import json
import logging
import pathlib
import re
import shutil
import sys
import time

if __package__ in (None, ""):  # run as `python tools/export_model.py`: make the repo importable
    sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1]))

from tools.colorize import CaffeRunner, Model, ModelError
from tools.common import OutputExists, atomic_output_dir, setup_logging

log = logging.getLogger("export_model")
SIZE_LIMIT = 25 * 1024 * 1024  # what we commit to git: every file at most 25 MB


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--deploy", type=pathlib.Path, required=True, help="deploy .prototxt of the trained net")
    parser.add_argument("--weights", type=pathlib.Path, required=True, help="snapshot .caffemodel")
    parser.add_argument("-o", "--output", type=pathlib.Path, required=True, help="model folder to write (e.g. models/default)")
    parser.add_argument("--info", type=pathlib.Path, help="JSON file of extra facts for model.json (data, metrics, …)")
    parser.add_argument("--force", action="store_true", help="replace an existing model folder")
    args = parser.parse_args(argv)
    setup_logging()
    try:
        model = Model(args.deploy, args.weights)
        runner = CaffeRunner(model)
        with atomic_output_dir(args.output, force=args.force) as staging:
            shutil.copy(args.deploy, staging / "deploy.prototxt")
            runner.save(staging / "weights.caffemodel")
            iteration = re.search(r"_iter_(\d+)\.caffemodel$", args.weights.name)
            card = {"family": model.family, "deploy_source": str(args.deploy), "snapshot": args.weights.name,
                    "iterations": int(iteration.group(1)) if iteration else None,
                    "exported": time.strftime("%Y-%m-%d")}
            if args.info:
                card.update(json.loads(args.info.read_text()))
            (staging / "model.json").write_text(json.dumps(card, indent=2) + "\n")
            size = (staging / "weights.caffemodel").stat().st_size
            if size > SIZE_LIMIT:
                raise ModelError(f"{args.weights}: exported weights are {size / 2**20:.1f} MB, over the 25 MB a "
                                 "committed model may have (export a lite net)")
    except (ModelError, OutputExists, OSError, ValueError) as error:
        log.error("%s", error)
        return 2
    log.info("wrote %s (weights %.1f MB, %s)", args.output, size / 2**20, model.family)
    return 0


if __name__ == "__main__":
    sys.exit(main())
