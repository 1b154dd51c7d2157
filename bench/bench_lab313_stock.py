"""The stock-layer Lab/313 nets against the Python-layer ones: `caffe time` per iteration, side by
side, and what the stock target side changes (soft encoding over all bins, smooth prior boost),
measured on real photos. Results go to bench/RESULTS.md.

    python bench/bench_lab313_stock.py [--rounds 3] [--lite-iterations 5] [--full-iterations 1]

Lite and full nets are timed in alternation (Python-layer net, then stock, `--rounds` times) so
that both see the same machine load; the median of the rounds is kept. Both read LMDBs built from
the val photos at the training record size (256): BGR for the Python-layer net, 8-bit Lab for the
stock one. `caffe time` runs every layer's Backward, also where training skips it (the stock
target side has no learnable input), so it overstates the stock net by those layers.
"""
import argparse
import logging
import os
import pathlib
import statistics
import subprocess
import sys
import tempfile


import numpy as np

from colornet.benchmark.samples import real_ab_batch
from colornet.benchmark.caffe_time import layer_types, parse
from colornet.benchmark.results import publish
from colornet.colour import lab313
from colornet.common import REPO_ROOT
from colornet.nets import lab313 as lab313_nets

log = logging.getLogger("bench_lab313_stock")
VAL_LIST = REPO_ROOT / "data/photos/val.txt"


def build_lmdbs(folder):
    """{placeholder path in the prototxt: temporary LMDB} for the BGR and Lab formats."""
    paths = {}
    for data_format, name in (("bgr", "bgr_lmdb"), ("lab", "lab_lmdb")):
        target = folder / name
        subprocess.run([sys.executable, str(REPO_ROOT / "tools/gen_lmdb.py"), str(VAL_LIST), "-o", str(target),
                        "--format", data_format, "--size", "256", "--resize", "crop", "-q", "--force"], check=True)
        paths[f"data/train_{name}"] = paths[f"data/val_{name}"] = str(target)
    return paths


def caffe_time(net, folder, sources, iterations):
    text = (REPO_ROOT / "prototxt" / f"train_val_{net}.prototxt").read_text()
    for old, new in sources.items():
        text = text.replace(old, new)
    path = folder / f"{net}.prototxt"
    path.write_text(text)
    result = subprocess.run(["caffe", "time", "-model", str(path), "-iterations", str(iterations)], cwd=REPO_ROOT,
                            capture_output=True, text=True, env={**os.environ, "GLOG_minloglevel": "0",
                                                                  "GLOG_logtostderr": "1"})
    timing = parse(result.stdout + result.stderr)
    if "Forward-Backward" not in timing["totals"]:
        raise RuntimeError(f"caffe time {net} failed: {(result.stdout + result.stderr)[-400:]}")
    return timing, layer_types(path)


def target_side_share(net, timing, types):
    """ms per iteration of the layers that are not the trunk (target side and loss): Python
    layers for the reference net; for the stock net, everything the deploy net lacks."""
    deploy = set(layer_types(REPO_ROOT / "prototxt" / f"deploy_{net.replace('_stock', '')}.prototxt"))
    layers = timing["layers"]
    if "_stock" in net:
        chosen = [name for name in layers if name not in deploy and types.get(name) not in ("Data", "Slice", None)]
    else:
        chosen = [name for name in layers if types.get(name) == "Python"]
    return sum(sum(layers[name].values()) for name in chosen)


def encoding_statistics(count=40, side=176):
    """On the val photos' ab (subsampled by 4, as in training): the all-bin Gaussian's mass
    outside the 5 nearest bins, how often its argmax is the 5-NN encoding's, and the smooth
    boost Σ t·w against the reference's w(argmax)."""
    ab = real_ab_batch(count, side)
    centres = lab313.load_centres()
    gaussian = lab313.gaussian_encode(ab, centres, lab313_nets.LAB_SIGMA)
    nearest = lab313.SoftEncoder(centres, 5, lab313_nets.LAB_SIGMA, compiled=False).encode(ab)
    outside = 1 - np.sort(gaussian, axis=1)[:, -5:].sum(axis=1)
    weights = lab313.prior_boost_weights(np.load(REPO_ROOT / lab313.DEFAULT_PRIOR), lab313_nets.LAB_BOOST_LAMBDA)
    exact = lab313.prior_boost(nearest, weights)[:, 0]
    row = {"photos": len(ab), "pixels": int(outside.size), "outside_mean": float(outside.mean()),
           "outside_max": float(outside.max()),
           "same_argmax": float((gaussian.argmax(axis=1) == nearest.argmax(axis=1)).mean())}
    # The stock net's soft argmax (σ 1) and, for comparison, the average over the σ 5 target.
    for name, sigma in (("boost", lab313_nets.LAB_BOOST_SIGMA), ("average", lab313_nets.LAB_SIGMA)):
        smooth = lab313.smooth_prior_boost(lab313.gaussian_encode(ab, centres, sigma), weights)[:, 0]
        relative = np.abs(smooth - exact) / exact
        row.update({f"{name}_relative_mean": float(relative.mean()),
                    f"{name}_relative_p95": float(np.percentile(relative, 95))})
    return row


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=3, help="alternating timing rounds (default 3)")
    parser.add_argument("--lite-iterations", type=int, default=5, help="caffe time iterations, lite nets (default 5)")
    parser.add_argument("--full-iterations", type=int, default=1,
                        help="caffe time iterations, full nets (default 1; 0 skips them: about a minute each here)")
    parser.add_argument("--no-write", action="store_true", help="print the results instead of writing RESULTS.md")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(name)s: %(message)s")
    statistics_row = encoding_statistics()
    log.info("encoding: %s", statistics_row)
    pairs = [("lab313_lite", "lab313_stock_lite", args.lite_iterations)]
    if args.full_iterations > 0:
        pairs.append(("lab313", "lab313_stock", args.full_iterations))
    rows = []
    with tempfile.TemporaryDirectory() as temporary:
        folder = pathlib.Path(temporary)
        sources = build_lmdbs(folder)
        for reference, stock, iterations in pairs:
            measured = {reference: [], stock: []}
            for _ in range(args.rounds):
                for net in (reference, stock):
                    timing, types = caffe_time(net, folder, sources, iterations)
                    total = timing["totals"]["Forward-Backward"]
                    measured[net].append((total, target_side_share(net, timing, types), timing["batch"]))
                    log.info("%s: %.0f ms per iteration", net, total)
            medians = {net: (statistics.median(t for t, _, _ in runs), statistics.median(s for _, s, _ in runs),
                             runs[0][2]) for net, runs in measured.items()}
            rows.append((reference, stock, medians))
    lines = [f"`caffe time` (CPU, TRAIN phase), median of {args.rounds} alternating rounds, ms per iteration; "
             "'target side + loss' is the Python layers' time in the reference net and, in the stock net, "
             "every layer the deploy net lacks (`caffe time` runs their Backward too, which training skips).", "",
             "| nets | batch | Python layers: ms | of which target side + loss | stock: ms | of which target side + loss "
             "| stock ÷ Python |", "|---|---|---|---|---|---|---|"]
    for reference, stock, medians in rows:
        (ref_ms, ref_side, batch), (stock_ms, stock_side, _) = medians[reference], medians[stock]
        lines.append(f"| {reference} / {stock} | {batch} | {ref_ms:.0f} | {ref_side:.0f} ({ref_side / ref_ms:.0%}) | "
                     f"{stock_ms:.0f} | {stock_side:.0f} ({stock_side / stock_ms:.0%}) | {stock_ms / ref_ms:.2f} |")
    s = statistics_row
    lines += ["", f"Soft encoding over all 313 bins (σ = 5) on {s['photos']} val photos ({s['pixels']:,} ab pixels at "
                  f"44×44): mass outside the 5 nearest bins {s['outside_mean']:.1%} on average, at most "
                  f"{s['outside_max']:.1%}; the same most likely bin as the 5-nearest encoding for "
                  f"{s['same_argmax']:.2%} of pixels. Prior boost against the reference's w(argmax): the stock net's "
                  f"soft argmax (σ = {lab313_nets.LAB_BOOST_SIGMA:g}) is {s['boost_relative_mean']:.1%} off on average "
                  f"({s['boost_relative_p95']:.1%} at the 95th percentile); the average of w over the σ = 5 target "
                  f"would be {s['average_relative_mean']:.1%} off ({s['average_relative_p95']:.1%})."]
    publish("bench_lab313_stock: stock-layer Lab/313 against Python layers", "\n".join(lines), args.no_write)
    return 0


if __name__ == "__main__":
    sys.exit(main())
