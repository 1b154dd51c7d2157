"""Colour hints, measured as ideepcolor measured theirs: PSNR (whole image, 8-bit RGB) and
rebalanced AuC against the true colours, for N = 0, 1, 2, 5, 10, 20, 50, 100 revealed points.

    python bench/bench_hints.py [--splits val test] [--limit 0] [--prior-weights 0.005,0.02,0.1]

Protocol (ideepcolor's test_sweep.py): photos resized to 256×256; each point a 6×6 patch whose
colour is the patch's mean true chroma, placed at a position drawn from a Gaussian centred on the
image with σ = ¼ of the side (clipped to the image); a fixed seed per photo, so every method sees
the same points. One difference, on purpose: ideepcolor draws each N's points afresh, here each
photo's N points are the first N of one draw of 100 (nested). Each N's points are distributed
exactly as theirs, so each N's mean is unchanged; what changes is that going from N to a larger
N only adds points, so the curve's steps measure the added hints rather than which points the
photo happened to get (with fresh draws, 53 test photos gave rebalanced AuC dips at N = 2 and
10). A second difference: each photo gets --draws such draws (seeded), pooled, because with one
draw the figure at N = 1 or 2 is mostly which spot the first points hit (moving the first point
of each test photo moved rebalanced AuC at N = 1 from 74.50 to 67.09); the table also shows each
single draw's lowest and highest figure. Also at the photo's own size (long side brought to at
most --own-side). Curves: colornet (the default model's colours with the hints spread over
them, colorize.hints) for each prior weight asked for, and Levin et al.'s propagation from grey
with the same hints (the classic no-learning baseline: 3×3 luminance affinities, hinted patches
fixed). The weight is chosen on val; the test split is scored with it once. Results and the
curve (PNG beside ideepcolor's published gains) go to bench/RESULTS.md and docs/hints-curve.png.
"""
import argparse
import copy
import functools
import json
import logging
import multiprocessing
import os
import pathlib
import sys
import time
import urllib.parse
import urllib.request


import cv2
import numpy as np

from colornet.colorize import families
from colornet.colorize.settings import DEFAULT_HINT_WEIGHT
from colornet.benchmark.results import publish
from colornet.benchmark.serving import free_port, start_server
from colornet.colorize import hints as hint_module
from colornet.colorize.pipeline import Colorizer, compose, luminance
from colornet.colorize.models import Model
from colornet.common import REPO_ROOT, atomic_write_bytes
from colornet.evaluate.scoring import ErrorHistogram
from colornet.photo_io import UnreadableImage, list_images, read_bgr
from colornet.colour import lab313

log = logging.getLogger("bench_hints")
COUNTS = (0, 1, 2, 5, 10, 20, 50, 100)
PATCH = 6
# ideepcolor's gains over its own 0-point PSNR on ImageNet (their per-image psnrs_siggraph.npy).
IDEEPCOLOR_GAINS = {1: 0.94, 10: 3.99, 100: 6.70}
EXAMPLE_PHOTO = "gcompris-qt-data/erase/horse.webp"  # a val photo


def psnr(result, truth):
    error = np.mean((result.astype(np.float64) - truth.astype(np.float64)) ** 2)
    return 10 * np.log10(255.0 ** 2 / max(error, 1e-10))


def sample_hints(truth_chroma, count, rng, family):
    """ideepcolor's points: Gaussian positions about the centre (σ = side/4), 6×6 patches, mean
    true chroma. truth_chroma 2×H×W in the model's family space."""
    _, height, width = truth_chroma.shape
    hints = []
    for _ in range(count):
        y = int(np.clip(rng.normal(height / 2, height / 4), 0, height - PATCH))
        x = int(np.clip(rng.normal(width / 2, width / 4), 0, width - PATCH))
        colour = truth_chroma[:, y:y + PATCH, x:x + PATCH].reshape(2, -1).mean(axis=1)
        hints.append(hint_module.Hint(x + PATCH / 2, y + PATCH / 2, tuple(float(c) for c in colour), PATCH))
    return hints


def family_chroma(bgr, family):
    return families.family(family).chroma_image(bgr)


def levin_from_grey(grey_bgr, hints, family):
    """Levin's propagation from grey at the photo's own size: hinted patches fixed, nothing else."""
    lum = luminance(grey_bgr, family)
    shape = lum.shape
    guide = lum.astype(np.float32) / families.family(family).lum_range
    chroma = hint_module.propagate(guide, *hint_module.fixed_patches(hints, shape, shape))
    return compose(lum, chroma, family, guided=False)


class Scores:
    """PSNR per photo (and draw) and one error histogram (for AuC) over them, as tools/evaluate.py."""

    def __init__(self, encoder):
        self.psnr, self.histogram, self.seconds = [], ErrorHistogram(encoder), []

    def add(self, result, truth, seconds):
        self.psnr.append(psnr(result, truth))
        self.seconds.append(seconds)
        true_ab = lab313.bgr_to_lab(truth.transpose(2, 0, 1)[None])[0, 1:].reshape(2, -1).T
        output_ab = lab313.bgr_to_lab(result.transpose(2, 0, 1)[None])[0, 1:].reshape(2, -1).T
        self.histogram.add(self.histogram.encoder.nearest(true_ab)[0][:, 0], np.linalg.norm(output_ab - true_ab, axis=1))

    def parts(self):
        """What another process's Scores needs to merge these (the encoder stays behind)."""
        return self.psnr, self.seconds, self.histogram.counts

    def merge(self, parts):
        psnrs, seconds, counts = parts
        self.psnr += psnrs
        self.seconds += seconds
        self.histogram.counts += counts

    def summary(self):
        plain, rebalanced, _, _ = self.histogram.auc()
        return {"psnr": float(np.mean(self.psnr)), "auc": plain, "auc_rebalanced": rebalanced,
                "seconds": float(np.median(self.seconds))}


def photos_of(split, limit):
    listed = list_images([REPO_ROOT / f"data/photos/{split}.txt"])
    return listed[:limit] if limit else listed


@functools.lru_cache(maxsize=1)
def worker_tools(model_name):
    """One colorizer and encoder per worker process (keyed by the model: the expensive part)."""
    return Colorizer(Model.resolve(model_name)), lab313.SoftEncoder(lab313.load_centres(), k=1)


def photo_scores(task):
    """One photo's {(method, N, draw): Scores.parts()} over `draws` draws of points (N = 0 once:
    it has none), or None if unreadable. Draw d of photo number k is seeded 1000·k + d (draw 0:
    the one-draw sweep's; hence at most 999 draws)."""
    model_name, path, number, weights, size, own_side, draws, reaches = task
    colorizer, encoder = worker_tools(model_name)
    family = colorizer.model.family
    try:
        truth = read_bgr(path)
    except UnreadableImage as error:
        log.warning("%s; skipped", error)
        return None
    if size == "256":
        truth = cv2.resize(truth, (256, 256), interpolation=cv2.INTER_AREA)
    else:
        scale = min(1.0, own_side / max(truth.shape[:2]))
        truth = cv2.resize(truth, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
    grey = cv2.cvtColor(cv2.cvtColor(truth, cv2.COLOR_BGR2GRAY), cv2.COLOR_GRAY2BGR)
    truth_chroma = family_chroma(truth, family)
    methods = {method_name(weight, reach): (weight, reach) for weight in weights for reach in reaches}
    # Per draw, so that the table can show how far one draw's figure wanders.
    scores = {(name, count, draw): Scores(encoder) for name in [*methods, "Levin from grey"]
              for count in COUNTS for draw in range(draws) if draw == 0 or count > 0}
    for draw in range(draws):
        drawn = sample_hints(truth_chroma, max(COUNTS), np.random.default_rng(1000 * number + draw), family)
        for count in COUNTS if draw == 0 else COUNTS[1:]:
            hints = drawn[:count]
            for name, (weight, reach) in methods.items():
                started = time.perf_counter()
                result = colorizer_with(colorizer, weight, reach).colorize([grey], [hints])[0]
                scores[name, count, draw].add(result, truth, time.perf_counter() - started)
            started = time.perf_counter()
            result = levin_from_grey(grey, hints, family) if hints else grey
            scores["Levin from grey", count, draw].add(result, truth, time.perf_counter() - started)
    return {key: s.parts() for key, s in scores.items()}


def sweep(model_name, paths, weights, size, own_side, draws=1, workers=1, reaches=(None,)):
    """{method: {N: summary}} for one split at one size ("256" or "own"), photos spread over
    `workers` processes (each photo's scores are its own; the sums do not depend on the order)."""
    encoder = lab313.SoftEncoder(lab313.load_centres(), k=1)
    names = [method_name(weight, reach) for weight in weights for reach in reaches] + ["Levin from grey"]
    scores = {name: {count: Scores(encoder) for count in COUNTS} for name in names}
    by_draw = {(name, count, draw): Scores(encoder) for name in names for count in COUNTS[1:] for draw in range(draws)}
    tasks = [(model_name, path, number, weights, size, own_side, draws, reaches) for number, path in enumerate(paths)]
    context = multiprocessing.get_context("spawn")  # Caffe and OpenCV's threads do not survive a fork
    with context.Pool(workers) as pool:
        for done, photo in enumerate(pool.imap(photo_scores, tasks)):
            for (name, count, draw), parts in (photo or {}).items():
                scores[name][count].merge(parts)
                if count:
                    by_draw[name, count, draw].merge(parts)
            log.info("%s: %d/%d photos", size, done + 1, len(paths))
    results = {name: {count: s.summary() for count, s in by_count.items()} for name, by_count in scores.items()}
    for name in names:
        for count in COUNTS[1:]:
            results[name][count]["draws_rebalanced"] = [by_draw[name, count, draw].summary()["auc_rebalanced"]
                                                        for draw in range(draws)]
    return results


def method_name(weight, reach=None):
    return f"colornet λ={weight:g}" + (f", reach {reach:g}/hint" if reach is not None else "")


def colorizer_with(colorizer, weight, reach=None):
    """The colorizer, its hints spread with this prior weight (and, for a model with a hint net,
    the net's weight rising to it over this reach per hint from the hints; None: the card's)."""
    other = colorizer.with_settings(hint_weight=weight)
    if reach is not None:
        other.model = copy.copy(other.model)
        other.model.hint_reach = reach
    return other


def table(results, counts=COUNTS):
    lines = ["| method | " + " | ".join(f"N={n}" for n in counts) + " |", "|---|" + "---|" * len(counts)]
    for name, by_count in results.items():
        base = by_count[0]["psnr"]
        lines.append(f"| {name}: PSNR dB (gain) | " + " | ".join(
            f"{by_count[n]['psnr']:.2f} ({by_count[n]['psnr'] - base:+.2f})" for n in counts) + " |")
        lines.append(f"| {name}: rebalanced AuC | " + " | ".join(f"{by_count[n]['auc_rebalanced']:.2f}" for n in counts) + " |")
        if len(by_count[counts[-1]].get("draws_rebalanced", [])) > 1:
            lines.append(f"| {name}: rebalanced AuC of one draw, lowest–highest | " + " | ".join(
                f"{min(by_count[n]['draws_rebalanced']):.2f}–{max(by_count[n]['draws_rebalanced']):.2f}" if n else "–"
                for n in counts) + " |")
    return "\n".join(lines)


def draw_curve(curves, output):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    figure, axis = plt.subplots(figsize=(7, 4.2), dpi=110)
    for label, by_count in curves.items():
        counts = [n for n in COUNTS if n > 0]
        axis.plot(counts, [by_count[n]["psnr"] - by_count[0]["psnr"] for n in counts], marker="o", label=label)
    axis.plot(list(IDEEPCOLOR_GAINS), list(IDEEPCOLOR_GAINS.values()), "k*--", label="ideepcolor (ImageNet, published)")
    axis.set_xscale("log")
    axis.set_xlabel("revealed points N")
    axis.set_ylabel("PSNR gain over the same method's 0 points, dB")
    axis.grid(alpha=0.3)
    axis.legend(fontsize=8)
    figure.tight_layout()
    staging = output.with_name(f".{output.name}.partial.png")
    figure.savefig(staging)
    plt.close(figure)
    os.replace(staging, output)


def page_update_seconds(rounds, hint_count=5):
    """The page's update after a hint: POST a 1-megapixel grey JPEG with hints to a server of
    tools/serve.py (the page's request) and decode the answer, `rounds` times in a row."""
    source = read_bgr(pathlib.Path(__import__("skimage").__file__).parent / "data" / "astronaut.png")
    grey = cv2.cvtColor(cv2.resize(source, (1155, 866), interpolation=cv2.INTER_CUBIC), cv2.COLOR_BGR2GRAY)
    payload = cv2.imencode(".jpg", grey, [cv2.IMWRITE_JPEG_QUALITY, 90])[1].tobytes()
    rng = np.random.default_rng(5)
    hints = [{"x": int(rng.integers(0, 1155)), "y": int(rng.integers(0, 866)), "color": "#3a7f4c"}
             for _ in range(hint_count)]
    port = free_port()
    server = start_server(port, 1, 4)
    times = []
    try:
        for _ in range(rounds):
            request = urllib.request.Request(
                f"http://127.0.0.1:{port}/api/colorize?hints={urllib.parse.quote(json.dumps(hints))}",
                data=payload, headers={"content-type": "image/jpeg"}, method="POST")
            started = time.perf_counter()
            with urllib.request.urlopen(request, timeout=60) as answer:
                result = cv2.imdecode(np.frombuffer(answer.read(), np.uint8), cv2.IMREAD_COLOR)
            times.append(time.perf_counter() - started)
            assert result.shape[:2] == (866, 1155)
    finally:
        server.terminate()
        server.wait(timeout=60)
    return times


def draw_example(colorizer, path, output, count=5, seed=4):
    """grey | automatic | with `count` hints (drawn as dots in their colours), for the README."""
    family = colorizer.model.family
    truth = read_bgr(path)
    scale = min(1.0, 420 / max(truth.shape[:2]))
    truth = cv2.resize(truth, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
    grey = cv2.cvtColor(cv2.cvtColor(truth, cv2.COLOR_BGR2GRAY), cv2.COLOR_GRAY2BGR)
    hints = sample_hints(family_chroma(truth, family), count, np.random.default_rng(seed), family)
    automatic, hinted = colorizer.colorize([grey])[0], colorizer.colorize([grey], [hints])[0]
    marked = hinted.copy()
    for hint in hints:
        colour = truth[int(hint.y), int(hint.x)].tolist()
        centre = (int(hint.x), int(hint.y))
        cv2.circle(marked, centre, 8, (0, 0, 0), -1, cv2.LINE_AA)
        cv2.circle(marked, centre, 7, (255, 255, 255), -1, cv2.LINE_AA)
        cv2.circle(marked, centre, 5, colour, -1, cv2.LINE_AA)
    gap = np.full((grey.shape[0], 8, 3), 255, np.uint8)
    sheet = np.hstack([grey, gap, automatic, gap, marked])
    atomic_write_bytes(output, cv2.imencode(".jpg", sheet, [cv2.IMWRITE_JPEG_QUALITY, 90])[1].tobytes())


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default="default", help="model name in models/ (default: default)")
    parser.add_argument("--splits", nargs="+", default=["val", "test"], help="photo splits (default: val test)")
    parser.add_argument("--limit", type=int, default=0, help="photos per split (default 0: all)")
    parser.add_argument("--val-limit", type=int, default=20,
                        help="val photos (default 20: val reports the chosen weight; the choice itself was on 12)")
    parser.add_argument("--prior-weights", default=None,
                        help="comma-separated prior weights for colornet's curve (default: the model card's, "
                             f"else {DEFAULT_HINT_WEIGHT:g})")
    parser.add_argument("--hint-reaches", default=None,
                        help="comma-separated reaches (grid pixels per hint) over which a hint net's weight rises from "
                             "the hints, choosing on val (default: the model card's)")
    parser.add_argument("--own-side", type=int, default=320,
                        help="long side of the own-size sweep (default 320: Levin's exact solve at full size is the slow part)")
    parser.add_argument("--draws", type=int, default=3,
                        help="draws of points per photo (default 3; 1: ideepcolor's one): N = 1 and 2 on one "
                             "draw are as noisy as the point they happen to hit")
    parser.add_argument("--own-draws", type=int, default=1,
                        help="draws per photo at its own size (default 1: the exact full-size solve is the slow part)")
    parser.add_argument("--workers", type=int, default=2, help="processes sharing the photos (default 2)")
    parser.add_argument("--sizes", nargs="+", default=["256", "own"], choices=("256", "own"))
    parser.add_argument("--own-size-splits", nargs="+", default=["test"],
                        help="splits also swept at their own size (default: test; val chooses at 256²)")
    parser.add_argument("--page-rounds", type=int, default=10, help="timed page updates at 1 MP (default 10)")
    parser.add_argument("--only", choices=("sweep", "page"), help="run only the sweep or only the page's timing")
    parser.add_argument("--no-write", action="store_true", help="print, leave bench/RESULTS.md alone")
    args = parser.parse_args(argv)
    if not (1 <= args.draws <= 999 and 1 <= args.own_draws <= 999 and args.workers >= 1):
        parser.error("--draws and --own-draws must be 1-999 (each photo's seeds) and --workers at least 1")
    logging.basicConfig(level=logging.INFO, format="%(name)s: %(message)s")
    os.environ.setdefault("GLOG_minloglevel", "2")
    if args.only != "sweep":
        times = page_update_seconds(args.page_rounds)
        log.info("page update at 1 MP: median %.2f s, max %.2f s", np.median(times), max(times))
        publish("bench_hints: the page's update after a hint",
                f"1 MP (1155×866 grey JPEG, 5 hints), from the request to the decoded result, through tools/serve.py "
                f"with 1 worker on the default model, {len(times)} in a row: median **{np.median(times):.2f} s**, "
                f"slowest {max(times):.2f} s (goal: ≤ 1 s).", args.no_write)
        if args.only == "page":
            return 0
    weights = [float(w) for w in args.prior_weights.split(",")] if args.prior_weights else \
        [Model.resolve(args.model).hint_weight or DEFAULT_HINT_WEIGHT]
    reaches = [float(r) for r in args.hint_reaches.split(",")] if args.hint_reaches else [None]
    sections, curves = [], {}
    for split in args.splits:
        paths = photos_of(split, args.val_limit if split == "val" else args.limit)
        for size in args.sizes:
            if size == "own" and split not in args.own_size_splits:
                continue
            draws = args.draws if size == "256" else args.own_draws
            results = sweep(args.model, paths, weights, size, args.own_side, draws, args.workers, reaches)
            title = (f"{split}, {'256×256' if size == '256' else f'own size (long side ≤ {args.own_side})'}, "
                     f"{len(paths)} photos, {draws} draw(s) each")
            sections.append(f"**{title}**\n\n{table(results)}")
            if size == "256":
                for name, by_count in results.items():
                    curves[f"{name} ({split})"] = by_count
            log.info("%s\n%s", title, table(results))
    picture = REPO_ROOT / "docs" / "hints-curve.png"
    if not args.no_write:
        draw_curve(curves, picture)
        draw_example(Colorizer(Model.resolve(args.model)), REPO_ROOT / "data/photos" / EXAMPLE_PHOTO, REPO_ROOT / "docs" / "hints-example.jpg")
    body = (f"Model: {args.model}. ideepcolor's protocol (see the script): 6×6 patches of the mean true colour at "
            "Gaussian positions about the centre (σ = ¼ side), fixed seeds, each N's points the first N of a "
            "draw of 100; several draws per photo are pooled (N = 0 once: no points); PSNR over the whole "
            "8-bit RGB image, "
            "gain over the same method's 0-point result in brackets; rebalanced AuC as tools/evaluate.py. "
            "λ: the prior weight of the net's colours in the propagation. ideepcolor's published gains "
            f"(ImageNet): {', '.join(f'+{g} dB at {n}' for n, g in IDEEPCOLOR_GAINS.items())}. "
            "Curve: docs/hints-curve.png.\n\n" + "\n\n".join(sections))
    publish("bench_hints: colour hints, ideepcolor's sweep", body, args.no_write)
    return 0


if __name__ == "__main__":
    sys.exit(main())
