"""Two models scored on the same photos (tools/evaluate.py folders), compared photo by photo.

The summaries' AuCs pool every pixel of every photo, so one model can lead there by 0.03 while
the other is better on three photos in four; the paired view says which, and how sure: for each
metric the mean per-photo difference B − A, its standard error, and the share of photos where B
is ahead. The command line: tools/compare_evals.py.
"""
import csv
import math
import pathlib

METRICS = (("auc_model", "AuC %"), ("auc_rebalanced_model", "rebalanced AuC %"), ("psnr_model", "PSNR dB"))


class PairingError(ValueError):
    pass


def per_photo(folder):
    """{photo: {metric: value}} of an evaluation folder's per_photo.csv."""
    path = pathlib.Path(folder) / "per_photo.csv"
    if not path.is_file():
        raise PairingError(f"{path}: not found (score the model with tools/evaluate.py -o {folder})")
    with path.open(newline="") as handle:
        return {row["photo"]: {key: float(value) for key, value in row.items() if key != "photo"}
                for row in csv.DictReader(handle)}


def compare(folder_a, folder_b):
    """[{metric, label, photos, mean_a, mean_b, difference, standard_error, share_b_ahead}] per metric."""
    rows_a, rows_b = per_photo(folder_a), per_photo(folder_b)
    if rows_a.keys() != rows_b.keys():
        raise PairingError(f"{folder_a} and {folder_b} scored different photos ({len(rows_a)} and {len(rows_b)}, "
                           f"{len(rows_a.keys() & rows_b.keys())} in common): score both on the same list")
    if len(rows_a) < 2:
        raise PairingError(f"{folder_a}: at least two photos are needed for a standard error")
    results = []
    for metric, label in METRICS:
        differences = [rows_b[photo][metric] - rows_a[photo][metric] for photo in rows_a]
        count = len(differences)
        mean = sum(differences) / count
        variance = sum((d - mean) ** 2 for d in differences) / (count - 1)
        results.append({"metric": metric, "label": label, "photos": count,
                        "mean_a": sum(rows_a[p][metric] for p in rows_a) / count,
                        "mean_b": sum(rows_b[p][metric] for p in rows_b) / count,
                        "difference": mean, "standard_error": math.sqrt(variance / count),
                        "share_b_ahead": sum(d > 0 for d in differences) / count})
    return results


def table(results, name_a, name_b):
    lines = [f"| per photo, {results[0]['photos']} photos | {name_a} | {name_b} | {name_b} − {name_a} (± s.e.) | "
             f"photos where {name_b} is ahead |", "|---|---|---|---|---|"]
    for r in results:
        lines.append(f"| {r['label']} | {r['mean_a']:.2f} | {r['mean_b']:.2f} | {r['difference']:+.2f} "
                     f"(± {r['standard_error']:.2f}) | {100 * r['share_b_ahead']:.0f} % |")
    return "\n".join(lines) + "\n"
