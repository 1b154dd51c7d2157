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
import json
import logging
import os
import pathlib
import sys
import time
import urllib.parse
import urllib.request


import cv2
import numpy as np

from colornet.colorize.settings import DEFAULT_HINT_WEIGHT
from colornet.benchmark.results import publish
from colornet.benchmark.serving import free_port, start_server
from colornet.benchmark.hint_sweep import COUNTS, family_chroma, sample_hints, sweep, table
from colornet.colorize.pipeline import Colorizer
from colornet.colorize.models import Model
from colornet.common import REPO_ROOT, atomic_write_bytes
from colornet.photo_io import list_images, read_bgr

log = logging.getLogger("bench_hints")
# ideepcolor's gains over its own 0-point PSNR on ImageNet (their per-image psnrs_siggraph.npy).
IDEEPCOLOR_GAINS = {1: 0.94, 10: 3.99, 100: 6.70}
EXAMPLE_PHOTO = "gcompris-qt-data/erase/horse.webp"  # a val photo


def photos_of(split, limit, spread=False, folder=REPO_ROOT / "data/photos"):
    """The split's first `limit` photos, or with spread `limit` photos evenly spaced over its list
    (whose sources come in blocks: the first 20 of val.txt are all BSDS500)."""
    listed = list_images([folder / f"{split}.txt"])
    if not limit or limit >= len(listed):
        return listed
    return [listed[round(i * (len(listed) - 1) / max(limit - 1, 1))] for i in range(limit)] if spread else listed[:limit]


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
    parser.add_argument("--val-spread", action="store_true",
                        help="val photos evenly spaced over val.txt, so every source has its share (the default, the "
                             "first --val-limit, are all BSDS500: docs/hints.md); choose new hint methods with it")
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
        paths = photos_of(split, args.val_limit, args.val_spread) if split == "val" else photos_of(split, args.limit)
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
