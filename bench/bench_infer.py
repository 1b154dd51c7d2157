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
import sys
import tempfile
import time


import cv2
import numpy as np

from colornet.colorize import families
from colornet.benchmark.memory import command_peak_mb
from colornet.benchmark.samples import backend_photos
from colornet.benchmark.float_path import float_path
from colornet.benchmark.rates import command_line_rate
from colornet.benchmark.results import best_time, publish
from colornet.colorize.pipeline import Colorizer, compose, decode, luminance, net_input
from colornet.colorize.models import Model
from colornet.photo_io import read_bgr

log = logging.getLogger("bench_infer")
SIZES = ((224, 224), (1024, 1024), (4000, 3000), (6000, 4000))


def grey_jpeg(folder, width, height):
    import skimage
    image = cv2.imread(str(pathlib.Path(skimage.__file__).parent / "data" / "astronaut.png"), cv2.IMREAD_GRAYSCALE)
    path = folder / f"grey_{width}x{height}.jpg"
    cv2.imwrite(str(path), cv2.resize(image, (width, height), interpolation=cv2.INTER_CUBIC),
                [cv2.IMWRITE_JPEG_QUALITY, 90])
    return path


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
    if families.family(model.family).has_classes:  # the YUV-64 float path it replaced
        times["old pre+post"] = best_time(lambda: float_path(bgr, decode(outputs, "yuv64")[0], model.side), repeats)
    return times


def peak_rss_mb(path, model, upsampling, scratch):
    """Peak resident memory of the command line colorizing this one photo, in a fresh process."""
    return command_peak_mb([str(path), "-o", str(scratch), "-q", "--upsampling", upsampling, "--model", model,
                            "--backend", "caffe"])


def backends_side_by_side(model, paths, rounds, scratch):
    """Per photo in this process (read, colorize one photo, PNG encode) and the command line in a
    fresh process on one photo and on all of them (its per-photo time is the difference over the
    extra photos, its start-up what one photo costs beyond that), for OpenCV's dnn and pycaffe,
    alternating within each round. Returns ({backend: medians}, photos byte-identical)."""
    colorizers = {backend: Colorizer(Model.resolve(model), backend) for backend in ("opencv", "caffe")}
    samples = {backend: {"in_process": [], "one": [], "all": []} for backend in colorizers}
    for round_number in range(rounds):
        for backend, colorizer in colorizers.items():
            started = time.perf_counter()
            for path in paths:
                cv2.imencode(".png", colorizer.colorize([read_bgr(path, keep_grey=True)])[0])
            samples[backend]["in_process"].append((time.perf_counter() - started) / len(paths))
            for name, chosen in (("one", paths[:1]), ("all", paths)):
                rate, written = command_line_rate(chosen, scratch / f"cli_{backend}_{name}_{round_number}",
                                                  "--backend", backend, "--model", model)
                samples[backend][name].append(written / rate)
    photos = [read_bgr(path, keep_grey=True) for path in paths]
    batch = colorizers["opencv"].net_batch([luminance(photos[0], colorizers["opencv"].model.family)])
    forward = {backend: best_time(lambda: colorizer.runner.forward(batch), 10) for backend, colorizer in colorizers.items()}
    identical = sum(np.array_equal(a, b) for a, b in zip(colorizers["opencv"].colorize(photos),
                                                         colorizers["caffe"].colorize(photos)))
    rows = {}
    for backend, times in samples.items():
        median = {name: float(np.median(values)) for name, values in times.items()}
        per_photo = (median["all"] - median["one"]) / (len(paths) - 1)
        rows[backend] = {"in_process": median["in_process"], "command": median["all"], "per_photo": per_photo,
                         "start_up": median["one"] - per_photo, "forward": forward[backend]}
    return rows, identical


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default="default", help="model name in models/ (default: default)")
    parser.add_argument("--repeats", type=int, default=3, help="timings per case; the best is kept (default 3)")
    parser.add_argument("--photos", type=int, default=40, help="photos (≤ 512 px) for the backends' table (default 40)")
    parser.add_argument("--rounds", type=int, default=3, help="rounds of the backends side by side (default 3)")
    parser.add_argument("--only-backends", action="store_true", help="measure only the backends' table")
    parser.add_argument("--no-write", action="store_true", help="print the table, leave bench/RESULTS.md alone")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(name)s: %(message)s")
    os.environ.setdefault("GLOG_minloglevel", "2")
    with tempfile.TemporaryDirectory() as scratch:
        scratch = pathlib.Path(scratch)
        paths = backend_photos(scratch, args.photos)
        rows, identical = backends_side_by_side(args.model, paths, args.rounds, scratch)
    ratio = rows["caffe"]["per_photo"] / rows["opencv"]["per_photo"]
    lines = [f"Model: {args.model}. {len(paths)} grey JPEGs of at most 512 px a side (val photos), as a new user "
             f"colours them: the command line (`use_trained_model.py PHOTOS --backend B`, a fresh process, batches "
             f"of 8) on all of them and on one (per photo: the difference over the extra photos; start-up: one "
             f"photo's run less a photo), and in one process one photo at a time (read, colorize, PNG encode). "
             f"{args.rounds} rounds, the backends alternating within each, medians. Outputs byte-identical between "
             f"the backends: {identical} of {len(paths)}. Forward alone: one photo's batch, best of 10. Only "
             f"the forward pass differs between the backends; reading, decoding the net's output, upsampling and "
             f"encoding cost the same in both.", "",
             "| backend | command line, s | per photo, s | start-up, s | in one process, s per photo | "
             "forward alone, ms | per photo ÷ OpenCV's | forward ÷ OpenCV's |", "|---|---|---|---|---|---|---|---|"]
    for backend, row in rows.items():
        lines.append(f"| {backend}{' (default)' if backend == 'opencv' else ''} | {row['command']:.2f} | "
                     f"{row['per_photo']:.3f} | {row['start_up']:.2f} | {row['in_process']:.3f} | "
                     f"{1000 * row['forward']:.1f} | {row['per_photo'] / rows['opencv']['per_photo']:.2f}× | "
                     f"{row['forward'] / rows['opencv']['forward']:.2f}× |")
    log.info("backends: %s; pycaffe ÷ OpenCV per photo %.2f×", rows, ratio)
    publish("bench_infer: OpenCV's dnn (the default) beside pycaffe", "\n".join(lines), args.no_write)
    if args.only_backends:
        return 0
    colorizer = Colorizer(Model.resolve(args.model), "caffe")
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
