"""Which fine-tuning recipe, measured on the tuning half alone: the photos `make finetune` would be
given are split again (seeded, half and half), a recipe trains on one part and every snapshot is
scored on the other at each of the command's temperatures and undo strengths. The scored half of
bench_finetune is never read, so a recipe chosen here is still scored once there.

    python bench/probe_finetune.py out/finetune-bench/dogs/tune.txt --variant head \\
        [--train-from pool1_reduce] [--learning-rate 1e-4] [--own-prior] [--stops 100,200,400,800]

Rows go to out/finetune-probe/VARIANT.jsonl (one per snapshot and decoding); --table prints them.
--own-prior rebalances the loss with the class prior of the photos trained on (instead of the
default's world prior), the metric's own weighting of rare colours.
"""
import argparse
import dataclasses
import json
import logging
import os
import pathlib
import sys

from colornet.common import REPO_ROOT

log = logging.getLogger("probe_finetune")
OUT = REPO_ROOT / "out" / "finetune-probe"


def own_prior(records, output):
    from colornet.data.inspect import inspect_records
    inspect_records(records, None, 0, None, output, None)
    return str(output)


def probe(args):
    from colornet.colorize.models import Model
    from colornet.train import finetune, tuning
    options = finetune.FinetuneOptions(photos=[args.photos], name=f"probe-{args.variant}", holdout_fraction=0.5,
                                       models_dir=OUT / "work", quiet=True, seed=args.seed)
    split = finetune.prepare(options)
    shipped = Model.resolve("default")
    recipe = dataclasses.replace(finetune.recipe_for(shipped), train_from=args.train_from,
                                 learning_rate=args.learning_rate)
    solver_path = tuning.write_solver(options.work, args.seed, recipe)
    if args.own_prior:
        prior = own_prior(options.work / "train_lmdb", options.work / "own_prior.npy")
        net = options.work / "train_net.prototxt"
        net.write_text(net.read_text().replace(recipe.prior, prior))
        recipe = dataclasses.replace(recipe, prior=prior)
    import caffe
    caffe.set_mode_cpu()
    solver = caffe.get_solver(str(solver_path))
    solver.net.copy_from(str(shipped.weights))
    dev = [pathlib.Path(path) for path in split["holdout"]]
    log.info("%d photos trained on, %d scored", len(split["train"]), len(dev))
    rows = OUT / f"{args.variant}.jsonl"
    rows.unlink(missing_ok=True)

    def score(iteration, weights):
        for temperature, strength, summary in tuning.score_decodings(recipe, weights, dev, shipped.dark_limit):
            row = {"variant": args.variant, "iteration": iteration, "temperature": temperature, "undo": strength,
                   "model": summary["model"], "grey": summary["grey"]}
            with rows.open("a") as out:
                out.write(json.dumps(row) + "\n")
        log.info("iteration %d scored", iteration)
    score(0, shipped.weights)
    for stop in sorted(args.stops):
        solver.step(stop - solver.iter)
        solver.snapshot()
        score(solver.iter, options.work / "snap" / f"finetune_iter_{solver.iter}.caffemodel")
    return rows


def table(paths):
    """Markdown: per variant and snapshot, rebalanced AuC / AuC / PSNR at each decoding (* at or above grey)."""
    rows = [json.loads(line) for path in paths for line in pathlib.Path(path).read_text().splitlines()]
    decodings = sorted({(row["temperature"], row["undo"]) for row in rows}, key=lambda d: (d[1], d[0]))
    lines = ["| variant | iteration | " + " | ".join(f"T {t:g}, undo {u:g}" for t, u in decodings) + " |",
             "|---|---|" + "---|" * len(decodings)]
    by_snapshot = {}
    for row in rows:
        by_snapshot.setdefault((row["variant"], row["iteration"]), {})[row["temperature"], row["undo"]] = row
    for (variant, iteration), cells in by_snapshot.items():
        def cell(row):
            model, grey = row["model"], row["grey"]
            mark = "*" if model["auc"] >= grey["auc"] and model["psnr"] >= grey["psnr"] else ""
            return f"{model['auc_rebalanced']:.2f} / {model['auc']:.2f} / {model['psnr']:.2f}{mark}"
        lines.append(f"| {variant} | {iteration} | " + " | ".join(cell(cells[d]) for d in decodings) + " |")
    grey = rows[0]["grey"]
    lines.append(f"\ngrey: {grey['auc_rebalanced']:.2f} / {grey['auc']:.2f} / {grey['psnr']:.2f}")
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("photos", nargs="?", help="the tuning half's photos (a .txt list or folder)")
    parser.add_argument("--variant", default="head", help="name of this recipe's rows (default head)")
    parser.add_argument("--train-from", default="pool1_reduce",
                        help="first layer that learns (default pool1_reduce: the whole colour head)")
    parser.add_argument("--learning-rate", type=float, default=1e-4, help="Adam's fixed rate (default 1e-4)")
    parser.add_argument("--own-prior", action="store_true", help="rebalance with the trained photos' own class prior")
    parser.add_argument("--stops", type=lambda text: [int(x) for x in text.split(",")],
                        default=[100, 200, 300, 400, 600, 800, 1000], help="iterations to snapshot and score at")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--table", nargs="+", metavar="JSONL", help="print these rows as a table and stop")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(name)s: %(message)s")
    if args.table:
        print(table(args.table))
        return 0
    if not args.photos:
        parser.error("give the tuning half's photos (or --table)")
    os.environ.setdefault("GLOG_minloglevel", "2")
    log.info("rows: %s", probe(args))
    return 0


if __name__ == "__main__":
    sys.exit(main())
