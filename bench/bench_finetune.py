"""Does fine-tuning on your own photos pay? One photo source the default never trained on, split
in two by photo (seeded): `make finetune` on one half with the default budget, then both models
scored on the other half with tools/evaluate.py. Results go to bench/RESULTS.md.

    python bench/bench_finetune.py SOURCE_LIST --name NAME [--minutes 30] [--label "docs photos"]
        [--sheet docs/finetune/NAME-scored.jpg]

SOURCE_LIST: a .txt list or folder of the source's photos. The halves are written beside the
results in out/finetune-bench/NAME/ (tune.txt, score.txt). The fine-tuning is `make finetune
PHOTOS=tune.txt NAME=NAME MINUTES=…`, exactly as the README writes it; --sheet also writes grey |
default | fine-tuned | truth for a few scored photos.
"""
import argparse
import hashlib
import json
import logging
import subprocess
import sys

from colornet.benchmark.results import publish
from colornet.common import REPO_ROOT
from colornet.photo_io import list_images

log = logging.getLogger("bench_finetune")


def halves(photos, seed, tune_fraction=0.5):
    ordered = sorted(photos, key=lambda path: hashlib.sha256(f"{seed}:{path.name}".encode()).hexdigest())
    middle = round(len(ordered) * tune_fraction)
    return sorted(ordered[:middle]), sorted(ordered[middle:])


def evaluate(score_list, model, output):
    result = subprocess.run([sys.executable, str(REPO_ROOT / "tools/evaluate.py"), str(score_list), "--model", model,
                             "-o", str(output), "-q"], capture_output=True, text=True, check=True)
    return json.loads(result.stdout)


def scored_sheet(score, name, card, output, count=6):
    """The fine-tuning's own before/after sheet, drawn on scored photos (spread over the list)."""
    from colornet.colorize.models import Model
    from colornet.train import finetune, tuning
    tuned = Model.resolve(name)
    recipe = finetune.recipe_for(tuned)
    chosen = score[::max(1, len(score) // count)][:count]
    tuning.before_after_sheet(recipe, chosen, "default", tuned.weights, card["temperature"],
                              card["undo_of_rebalancing"], output, count=count)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("source", help="the source's photos: a .txt list or a folder")
    parser.add_argument("--name", required=True, help="the fine-tuned model's name")
    parser.add_argument("--label", help="what the source is, for the table (default: its name)")
    parser.add_argument("--minutes", type=float, default=30, help="fine-tuning budget (default 30, make finetune's)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--tune-fraction", type=float, default=0.5,
                        help="share of the photos fine-tuned on (default 0.5: halves)")
    parser.add_argument("--sheet", help="also write grey | default | fine-tuned | truth for 6 scored photos here")
    parser.add_argument("--no-write", action="store_true", help="print, leave bench/RESULTS.md alone")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(name)s: %(message)s")
    folder = REPO_ROOT / "out" / "finetune-bench" / args.name
    folder.mkdir(parents=True, exist_ok=True)
    tune, score = halves(list_images([args.source]), args.seed, args.tune_fraction)
    (folder / "tune.txt").write_text("".join(f"{path.resolve()}\n" for path in tune))
    (folder / "score.txt").write_text("".join(f"{path.resolve()}\n" for path in score))
    log.info("%d photos to fine-tune on, %d to score on (%s)", len(tune), len(score), folder)
    subprocess.run(["make", "--no-print-directory", "finetune", f"PHOTOS={folder / 'tune.txt'}", f"NAME={args.name}",
                    f"MINUTES={args.minutes:g}"], cwd=REPO_ROOT, check=True)
    card = json.loads((REPO_ROOT / "models" / args.name / "model.json").read_text())
    results = {model: evaluate(folder / "score.txt", model, folder / f"eval_{model}") for model in ("default", args.name)}
    rows = [("grey", results["default"]["grey"]), ("default", results["default"]["model"]),
            (f"{args.name} (fine-tuned, temperature {card['temperature']:g})", results[args.name]["model"])]
    lines = [f"Source: {args.label or args.source} — {len(tune)} photos fine-tuned on ({card['photos']['train']} "
             f"trained, {card['photos']['held_out']} held out for the choice), {len(score)} other photos scored "
             f"(tools/evaluate.py, long side 512). Fine-tuning: {args.minutes:g} min, "
             f"{card['training']['iterations_this_run']} iterations, {card['snapshot_chosen']} chosen.", "",
             "| on the scored half | rebalanced AuC | AuC | PSNR | colourfulness |", "|---|---|---|---|---|"]
    for label, summary in rows:
        lines.append(f"| {label} | {summary['auc_rebalanced']:.2f} | {summary['auc']:.2f} | {summary['psnr']:.2f} | "
                     f"{summary['cf']:.1f} |")
    if args.sheet:
        scored_sheet(score, args.name, card, args.sheet)
        lines += ["", f"Scored photos, grey | default | {args.name} | truth: {args.sheet}"]
    gain = results[args.name]["model"]["auc_rebalanced"] - results["default"]["model"]["auc_rebalanced"]
    lines += ["", f"Fine-tuned − default: **{gain:+.2f}** rebalanced AuC."]
    publish(f"bench_finetune: {args.label or args.name}", "\n".join(lines), args.no_write)
    return 0


if __name__ == "__main__":
    sys.exit(main())
