"""Colorizing one photo, stage by stage, at 224², 1024², 4000×3000 and 6000×4000: read (file
decode), pre (luminance, net input), forward, post (decoding the net's output, chroma upsampling,
colour conversion) and write (PNG encode), for guided and cubic upsampling, beside the float path
colorize.py had before (its pre + post only), and the peak resident memory of the whole command
line (`use_trained_model.py` on that one photo, in a fresh process). Results go to bench/RESULTS.md.

    python bench/bench_infer.py [--model default] [--repeats 3]

The photos are grey JPEGs made from scikit-image's astronaut (real content, so the JPEG decoder
and PNG encoder do real work). Run on an otherwise idle machine; ratios are measured in one run.
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

from bench.results import best_time, publish
from tools.colorize import Colorizer, Model, compose, decode, luminance, net_input
from tools.common import REPO_ROOT
from tools.photo_io import read_bgr

log = logging.getLogger("bench_infer")
SIZES = ((224, 224), (1024, 1024), (4000, 3000), (6000, 4000))


def grey_jpeg(folder, width, height):
    import skimage
    image = cv2.imread(str(pathlib.Path(skimage.__file__).parent / "data" / "astronaut.png"), cv2.IMREAD_GRAYSCALE)
    path = folder / f"grey_{width}x{height}.jpg"
    cv2.imwrite(str(path), cv2.resize(image, (width, height), interpolation=cv2.INTER_CUBIC),
                [cv2.IMWRITE_JPEG_QUALITY, 90])
    return path


def float_path(bgr, outputs, side):
    """What colorize.py did before the 8-bit path (kept here only to measure the change against):
    float Y, float resizes, float cubic chroma at full size, dstack, rounding, conversion."""
    bgr = cv2.cvtColor(bgr, cv2.COLOR_GRAY2BGR) if bgr.ndim == 2 else bgr  # it read every photo as BGR
    lum = cv2.cvtColor(bgr, cv2.COLOR_BGR2YUV)[..., 0].astype(np.float32)
    cv2.resize(lum, (side, side), interpolation=cv2.INTER_AREA)
    chroma = decode(outputs, "yuv64")[0]
    height, width = lum.shape
    upsampled = cv2.resize(chroma.transpose(1, 2, 0).astype(np.float32), (width, height), interpolation=cv2.INTER_CUBIC)
    yuv = np.dstack([lum, upsampled + 128.0])
    return cv2.cvtColor(np.clip(np.rint(yuv), 0, 255).astype(np.uint8), cv2.COLOR_YUV2BGR)


def stage_times(colorizer, path, repeats):
    model = colorizer.model
    times = {"read": best_time(lambda: read_bgr(path, keep_grey=True), repeats)}
    bgr = read_bgr(path, keep_grey=True)
    lum = luminance(bgr, model.family)
    batch = net_input(lum, model.side)[None, None]
    times["pre"] = best_time(lambda: net_input(luminance(bgr, model.family), model.side), repeats)
    colorizer.runner.forward(batch)  # warm-up
    times["forward"] = best_time(lambda: colorizer.runner.forward(batch), repeats)
    outputs = colorizer.runner.forward(batch)
    for guided in (True, False):
        name = "post guided" if guided else "post cubic"
        times[name] = best_time(lambda: compose(lum, decode(outputs, model.family)[0], model.family, guided), repeats)
    result = compose(lum, decode(outputs, model.family)[0], model.family)
    times["write"] = best_time(lambda: cv2.imencode(".png", result), repeats)
    if model.family == "yuv64":
        times["old pre+post"] = best_time(lambda: float_path(bgr, outputs, model.side), repeats)
    return times


def peak_rss_mb(path, model, upsampling, scratch):
    """Peak resident memory of the command line colorizing this one photo, in a fresh process."""
    # VmHWM, not getrusage's ru_maxrss: Linux carries ru_maxrss over from the parent through
    # fork and exec, so a child of a big parent would report the parent's peak.
    code = ("import re, sys; sys.path.insert(0, %r); from tools import use_trained_model; "
            "status = use_trained_model.main(sys.argv[1:]); "
            "print(re.search(r'VmHWM:\\s+(\\d+)', open('/proc/self/status').read()).group(1)); "
            "sys.exit(status)") % str(REPO_ROOT)
    arguments = [str(path), "-o", str(scratch), "-q", "--upsampling", upsampling, "--model", model]
    result = subprocess.run([sys.executable, "-c", code, *arguments], capture_output=True, text=True,
                            env={**os.environ, "GLOG_minloglevel": "2"})
    if result.returncode != 0:
        raise RuntimeError(f"use_trained_model failed on {path}: {result.stderr[-400:]}")
    return int(result.stdout.split()[-1]) / 1024


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default="default", help="model name in models/ (default: default)")
    parser.add_argument("--repeats", type=int, default=3, help="timings per case; the best is kept (default 3)")
    parser.add_argument("--no-write", action="store_true", help="print the table, leave bench/RESULTS.md alone")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(name)s: %(message)s")
    os.environ.setdefault("GLOG_minloglevel", "2")
    colorizer = Colorizer(Model.resolve(args.model))
    rows = []
    with tempfile.TemporaryDirectory() as scratch:
        scratch = pathlib.Path(scratch)
        for width, height in SIZES:
            path = grey_jpeg(scratch, width, height)
            times = stage_times(colorizer, path, args.repeats)
            memory = {up: peak_rss_mb(path, args.model, up, scratch / "out") for up in ("guided", "cubic")}
            ms = {name: 1000 * value for name, value in times.items()}
            ratio = (ms["pre"] + ms["post guided"]) / ms["forward"]
            old = ms.get("old pre+post", float("nan"))
            rows.append(f"| {width}×{height} | {ms['read']:.0f} | {ms['pre']:.0f} | {ms['forward']:.0f} | "
                        f"{ms['post guided']:.0f} | {ms['post cubic']:.0f} | {ms['write']:.0f} | "
                        f"{ratio:.1f}× | {(ms['pre'] + ms['post cubic']) / ms['forward']:.1f}× | "
                        f"{old:.0f} ({old / ms['forward']:.1f}×) | {memory['guided']:.0f} | {memory['cubic']:.0f} |")
            log.info("%d×%d: %s; peak RSS %s MB", width, height,
                     ", ".join(f"{k} {v:.0f} ms" for k, v in ms.items()), memory)
    body = (f"Model: {colorizer.model.deploy} ({colorizer.model.family}), pycaffe, one photo per batch, best of "
            f"{args.repeats}. A grey JPEG (scikit-image's astronaut, resized) per size. Times in ms; "
            "'pre + post ÷ forward' excludes the file's decode (read) and encode (write). 'old' is the float path "
            "colorize.py had before (float Y, float cubic chroma at full size, dstack, rounding): its pre + post. "
            "Peak RSS: the whole command line (`use_trained_model.py PHOTO`, Python, Caffe and the model "
            "included) in a fresh process.\n\n"
            "| photo | read | pre | forward | post guided | post cubic | write | pre + post ÷ forward, guided | "
            "cubic | old pre + post (÷ forward) | peak RSS MB, guided | cubic |\n"
            "|---|---|---|---|---|---|---|---|---|---|---|---|\n" + "\n".join(rows))
    publish("bench_infer: colorizing one photo, stage by stage", body, args.no_write)
    return 0


if __name__ == "__main__":
    sys.exit(main())
