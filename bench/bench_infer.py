"""Seconds per photo for tools/use_trained_model.py's work at 224 and 1024 pixels, with pycaffe
and with OpenCV's dnn, beside `caffe time`'s forward time for the same deploy net, so that the
cost of our pre/post-processing (luminance, resizing, decoding, chroma upsampling, Lab/YUV → BGR)
is visible. Results go to bench/RESULTS.md.

    python bench/bench_infer.py [--model default] [--repeats 5]

Without weights for the deploy net (e.g. before a model is trained), the deploy's own fillers are
saved and used: timing does not depend on the values. Run on an otherwise idle machine.
"""
import argparse
import logging
import os
import pathlib
import subprocess
import sys
import tempfile

if __package__ in (None, ""):
    sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1]))

import cv2
import numpy as np

from bench.caffe_time import parse
from bench.results import best_time, write_section
from tools.colorize import Colorizer, Model, ModelError, compose, decode, luminance, net_input
from tools.common import REPO_ROOT

log = logging.getLogger("bench_infer")


def photo(side):
    import skimage
    image = cv2.imread(str(pathlib.Path(skimage.__file__).parent / "data" / "astronaut.png"))
    return cv2.resize(image, (side, side), interpolation=cv2.INTER_CUBIC)



def caffe_forward_ms(deploy, iterations):
    result = subprocess.run(["caffe", "time", "-model", str(deploy), "-iterations", str(iterations)],
                            capture_output=True, text=True, cwd=REPO_ROOT,
                            env={**os.environ, "GLOG_minloglevel": "0", "GLOG_logtostderr": "1"})
    totals = parse(result.stdout + result.stderr)["totals"]
    if "Forward" not in totals:
        raise RuntimeError(f"caffe time failed: {(result.stdout + result.stderr)[-400:]}")
    return totals["Forward"]


def resolve(model_name, weights, scratch):
    try:
        return Model.resolve(model_name, weights)
    except ModelError:
        if model_name and not model_name.endswith(".prototxt"):
            raise
    import caffe
    deploy = pathlib.Path(model_name or REPO_ROOT / "prototxt/deploy_lab313_lite.prototxt")
    net = caffe.Net(str(deploy), caffe.TEST)
    path = pathlib.Path(scratch) / "filler.caffemodel"
    net.save(str(path))
    return Model(deploy, path)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", help="model name in models/ or a deploy .prototxt (default: models/default, "
                                        "else prototxt/deploy_lab313_lite.prototxt with filler weights)")
    parser.add_argument("--weights")
    parser.add_argument("--repeats", type=int, default=5, help="timings per case; the best is kept (default 5)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(name)s: %(message)s")
    os.environ.setdefault("GLOG_minloglevel", "2")
    with tempfile.TemporaryDirectory() as scratch:
        model = resolve(args.model, args.weights, scratch)
        forward_ms = caffe_forward_ms(model.deploy, max(args.repeats, 3))
        rows = []
        for backend in ("caffe", "opencv"):
            colorizer = Colorizer(model, backend)
            for side in (224, 1024):
                image = photo(side)
                # The net's share, timed on this photo's own input (values matter: Caffe does not
                # flush denormals, so an all-zero input would time faster than a real one).
                lum = luminance(image, model.family)
                batch = net_input(lum, model.side)[None, None].astype(np.float32)
                colorizer.runner.forward(batch)  # warm-up
                net_s = best_time(lambda: colorizer.runner.forward(batch), args.repeats)
                total_s = best_time(lambda: colorizer.colorize([image]), args.repeats)
                # Pre- and post-processing timed on their own: a difference of two noisy totals
                # would say little about a few milliseconds.
                outputs = colorizer.runner.forward(batch)
                pre_s = best_time(lambda: net_input(luminance(image, model.family), model.side), args.repeats)
                post_s = best_time(lambda: compose(lum, decode(outputs, model.family)[0], model.family), args.repeats)
                overhead = pre_s + post_s
                rows.append(f"| {backend} | {side}×{side} | {total_s:.3f} | {net_s * 1000:.0f} | "
                            f"{overhead * 1000:.0f} | {100 * overhead / net_s:.0f}% |")
                log.info("%s at %d: %.3f s per photo (net %.0f ms)", backend, side, total_s, net_s * 1000)
    body = (f"Model: {model.deploy} ({model.family}), weights {model.weights.name}; one photo per batch, "
            f"best of {args.repeats}. `caffe time` forward for the same deploy net: {forward_ms:.0f} ms.\n\n"
            "| backend | photo | s per photo | net forward ms | pre/post ms | pre/post ÷ forward |\n"
            "|---|---|---|---|---|---|\n" + "\n".join(rows))
    write_section("bench_infer: colorizing one photo", body)
    log.info("wrote bench/RESULTS.md")
    return 0


if __name__ == "__main__":
    sys.exit(main())
