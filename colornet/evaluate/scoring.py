"""Score a colornet model on colour photos: grey each one, colorize it, compare with the original.

Reports, each beside the grey baseline (a = b = 0 with the true L):
- AuC of the ab-error CDF for thresholds 0..150 (plain, and rebalanced so that every true ab
  bin counts equally — greyscale output scores high on the first and low on the second);
- PSNR (dB) of the RGB result; colourfulness CF (Hasler & Süsstrunk) and ΔCF = |CF − CF(truth)|.
Shadows: the mean a*, b* of each photo's darkest 20 % of pixels (by true L), pooled, for the
model, grey (0) and the truth: a blue cast in the shadows shows as the model's b* well below the
truth's. The rebalanced AuC is also split by the true colour's hue (45° sectors of the ab plane, and the
near-grey bins): which colours a model gets right. Writes summary.json, per_photo.csv, cdf.png and
by_hue.png into the output folder. Photos are scored with their long side brought down to
--max-side (default 512) to keep the run short.

The command line: tools/evaluate.py.
"""
import csv
import io
import json
import logging
import pathlib


import cv2
import numpy as np

from colornet.colour import lab313
from colornet.common import atomic_write_bytes
from colornet.photo_io import UnreadableImage, list_images, read_bgr

log = logging.getLogger("evaluate")
THRESHOLDS = np.arange(151)  # ab error thresholds 0..150
# The rebalanced AuC split by the true colour's hue (angle in the ab plane, 45° sectors), so that a
# model card can say which colours a model gets right, not only how many. Bins whose centre is
# within NEUTRAL_CHROMA of grey form their own group: their hue means little.
NEUTRAL_CHROMA = 10
HUE_SECTORS = ("red", "orange", "yellow", "yellow-green", "green", "cyan", "blue", "purple")  # from +a, 45° each
HUE_GROUPS = ("neutral",) + HUE_SECTORS
SHADOW_FRACTION = 0.2


def colourfulness(bgr):
    """Hasler & Süsstrunk (2003) on 0..255 RGB."""
    b, g, r = (bgr[..., i].astype(np.float64) for i in range(3))
    rg, yb = r - g, (r + g) / 2 - b
    return float(np.sqrt(rg.std() ** 2 + yb.std() ** 2) + 0.3 * np.sqrt(rg.mean() ** 2 + yb.mean() ** 2))


def psnr(result, truth):
    mse = np.mean((result.astype(np.float64) - truth.astype(np.float64)) ** 2)
    return float("inf") if mse == 0 else float(10 * np.log10(255.0 ** 2 / mse))


def grey_baseline(truth_lab):
    """a = b = 0 with the true L, as an exactly grey 8-bit image (R = G = B)."""
    grey = lab313.lab_to_bgr(np.dstack([truth_lab[..., 0], np.zeros(truth_lab.shape[:2] + (2,))]))[..., 1]
    return np.dstack([grey, grey, grey])


class ErrorHistogram:
    """Per true-ab-bin counts of pixels by ab error (rounded up to whole units, 0..151)."""

    def __init__(self, encoder):
        self.encoder = encoder
        self.counts = np.zeros((len(encoder.centres), len(THRESHOLDS) + 1), dtype=np.int64)

    @staticmethod
    def buckets(error):
        return np.minimum(np.ceil(error), len(THRESHOLDS)).astype(np.intp)

    def add(self, bins, error):
        flat = bins * self.counts.shape[1] + self.buckets(error)
        self.counts += np.bincount(flat, minlength=self.counts.size).reshape(self.counts.shape)

    def cumulative(self):
        """Per bin, pixels with error ≤ t for each threshold t; and pixels in all."""
        return np.cumsum(self.counts, axis=1)[:, :len(THRESHOLDS)], self.counts.sum(axis=1)

    def auc(self):
        """(plain, rebalanced) AuC in percent, and the two CDF curves."""
        cumulative, totals = self.cumulative()
        plain = cumulative.sum(axis=0) / max(totals.sum(), 1)
        seen = totals > 0
        rebalanced = (cumulative[seen] / totals[seen, None]).mean(axis=0) if seen.any() else np.zeros(len(THRESHOLDS))
        return 100 * float(plain.mean()), 100 * float(rebalanced.mean()), plain, rebalanced

    def rebalanced_by_group(self, groups):
        """{group: (rebalanced AuC % over the seen bins of that group or None, seen bins)} for a
        per-bin array of HUE_GROUPS names."""
        cumulative, totals = self.cumulative()
        per_bin = cumulative.mean(axis=1) / np.maximum(totals, 1)
        result = {}
        for group in HUE_GROUPS:
            members = (groups == group) & (totals > 0)
            result[group] = (100 * float(per_bin[members].mean()) if members.any() else None, int(members.sum()))
        return result


def hue_groups(centres):
    """Each ab bin's group: "neutral" near grey, else the name of its 45° hue sector."""
    hue = np.degrees(np.arctan2(centres[:, 1], centres[:, 0])) % 360
    groups = np.array(HUE_SECTORS, dtype=object)[(hue // 45).astype(int) % len(HUE_SECTORS)]
    groups[np.linalg.norm(centres, axis=1) < NEUTRAL_CHROMA] = "neutral"
    return groups


def shadow_mask(truth_l):
    """The photo's darkest SHADOW_FRACTION of pixels by true L (flattened boolean mask)."""
    flat = truth_l.reshape(-1)
    return flat <= np.quantile(flat, SHADOW_FRACTION)


def fit(bgr, max_side):
    scale = max_side / max(bgr.shape[:2])
    return cv2.resize(bgr, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA) if scale < 1 else bgr


def evaluate(photos, predict, max_side=512, batch=8, progress=True):
    """Score ``predict`` (list of uint8 BGR photos → list of colorized photos) on colour photos.

    Returns (summary dict, per-photo rows, curves dict)."""
    from tqdm import tqdm
    encoder = lab313.SoftEncoder(lab313.load_centres(), k=1)
    histograms = {"model": ErrorHistogram(encoder), "grey": ErrorHistogram(encoder)}
    rows, skipped = [], []
    shadow_sums = {"model": np.zeros(2), "grey": np.zeros(2), "truth": np.zeros(2)}
    shadow_pixels = 0
    with tqdm(total=len(photos), unit="photo", desc="evaluate", disable=not progress) as bar:
        for start in range(0, len(photos), batch):
            group = []
            for path in photos[start:start + batch]:
                try:
                    group.append((path, fit(read_bgr(path), max_side)))
                except UnreadableImage as error:
                    log.warning("skipped: %s", error)
                    skipped.append(str(error))
                    bar.update()
            if not group:
                continue
            greyed = [cv2.cvtColor(cv2.cvtColor(bgr, cv2.COLOR_BGR2GRAY), cv2.COLOR_GRAY2BGR) for _, bgr in group]
            results = predict(greyed)
            for (path, truth), result in zip(group, results):
                truth_lab = lab313.bgr_to_lab(truth.transpose(2, 0, 1)[None])[0].transpose(1, 2, 0)
                true_ab = truth_lab[..., 1:].reshape(-1, 2)
                bins = encoder.nearest(true_ab)[0][:, 0]
                shadows = shadow_mask(truth_lab[..., 0])
                shadow_pixels += int(shadows.sum())
                shadow_sums["truth"] += true_ab[shadows].sum(axis=0)
                row = {"photo": str(path), "cf_truth": colourfulness(truth)}
                for name, output in (("model", result), ("grey", grey_baseline(truth_lab))):
                    output_ab = lab313.bgr_to_lab(output.transpose(2, 0, 1)[None])[0, 1:].transpose(1, 2, 0).reshape(-1, 2)
                    error = np.linalg.norm(output_ab - true_ab, axis=1)
                    shadow_sums[name] += output_ab[shadows].sum(axis=0)
                    histograms[name].add(bins, error)
                    single = ErrorHistogram(encoder)
                    single.add(bins, error)
                    plain, rebalanced, _, _ = single.auc()
                    row.update({f"auc_{name}": plain, f"auc_rebalanced_{name}": rebalanced,
                                f"psnr_{name}": psnr(output, truth), f"cf_{name}": colourfulness(output)})
                rows.append(row)
                bar.update()
    if not rows:
        raise ValueError("no readable colour photos to score")
    summary, curves = {"photos": len(rows), "skipped": len(skipped)}, {}
    groups = hue_groups(encoder.centres)
    cf_truth = float(np.mean([row["cf_truth"] for row in rows]))
    summary["cf_truth"] = cf_truth
    summary["shadows"] = {name: {"a": float(total[0] / shadow_pixels), "b": float(total[1] / shadow_pixels)}
                          for name, total in shadow_sums.items()}
    summary["shadows"]["fraction"] = SHADOW_FRACTION
    by_hue = {name: histogram.rebalanced_by_group(groups) for name, histogram in histograms.items()}
    # Which bins were seen depends on the true colours only, the same for every histogram.
    summary["bins_by_hue"] = {group: bins for group, (_, bins) in by_hue["grey"].items()}
    for name, histogram in histograms.items():
        plain, rebalanced, plain_curve, rebalanced_curve = histogram.auc()
        cf = float(np.mean([row[f"cf_{name}"] for row in rows]))
        finite = [row[f"psnr_{name}"] for row in rows if np.isfinite(row[f"psnr_{name}"])]
        summary[name] = {"auc": plain, "auc_rebalanced": rebalanced,
                         "psnr": float(np.mean(finite)) if finite else float("inf"),
                         "cf": cf, "delta_cf": abs(cf - cf_truth),
                         "auc_rebalanced_by_hue": {group: auc for group, (auc, _) in by_hue[name].items()}}
        curves[name] = (plain_curve, rebalanced_curve)
    return summary, rows, curves


def _pyplot():
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    return plt


def _save_figure(plt, figure, output, title):
    figure.suptitle(title, fontsize=9)
    figure.tight_layout()
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    plt.close(figure)
    atomic_write_bytes(output, buffer.getvalue())


def plot_curves(curves, output, title):
    plt = _pyplot()
    figure, axes = plt.subplots(1, 2, figsize=(9, 3.6), dpi=100, sharey=True)
    for axis, index, label in ((axes[0], 0, "plain"), (axes[1], 1, "rebalanced")):
        for name, style in (("model", "-"), ("grey", "--")):
            curve = curves[name][index]
            axis.plot(THRESHOLDS, 100 * curve, style, label=f"{name} (AuC {100 * curve.mean():.1f})")
        axis.set_title(f"ab-error CDF, {label}")
        axis.set_xlabel("threshold (ab units)")
        axis.grid(alpha=0.3)
        axis.legend(loc="lower right")
    axes[0].set_ylabel("% pixels within threshold")
    _save_figure(plt, figure, output, title)


def plot_by_hue(summary, output, title):
    """Bars of the rebalanced AuC per true-colour group, model beside grey, each bar in its hue."""
    plt = _pyplot()
    bins = summary["bins_by_hue"]
    groups = [group for group in HUE_GROUPS if bins[group]]
    swatches = {"neutral": (0.6, 0.6, 0.6)}
    for index, name in enumerate(HUE_SECTORS):
        angle = np.radians(45 * index + 22.5)
        lab = np.array([[[60.0, 45 * np.cos(angle), 45 * np.sin(angle)]]])
        swatches[name] = tuple(lab313.lab_to_bgr(lab)[0, 0, ::-1] / 255.0)
    figure, axis = plt.subplots(figsize=(9, 3.6), dpi=100)
    x = np.arange(len(groups))
    axis.bar(x - 0.2, [summary["model"]["auc_rebalanced_by_hue"][g] for g in groups], 0.4,
             color=[swatches[g] for g in groups], edgecolor="black", label="model")
    axis.bar(x + 0.2, [summary["grey"]["auc_rebalanced_by_hue"][g] for g in groups], 0.4,
             color="white", edgecolor="black", hatch="//", label="grey baseline")
    axis.set_xticks(x, [f"{g}\n{bins[g]} bin{'s' * (bins[g] != 1)}" for g in groups], fontsize=8)
    axis.set_ylabel("rebalanced AuC % (true colour's bins)")
    axis.set_ylim(0, 100)
    axis.grid(axis="y", alpha=0.3)
    axis.legend(loc="upper right")
    _save_figure(plt, figure, output, title)


def score_set(photos, colorizer, output, label, max_side=512, quiet=False):
    """Score one set of photos and write its files into output; returns the summary."""
    summary, rows, curves = evaluate(photos, colorizer.colorize, max_side, progress=not quiet)
    summary = {"evaluated": colorizer.model.describe(), "photo_list": label, "backend": colorizer.runner.name,
               "decode": colorizer.method, "temperature": colorizer.temperature, "dark_limit": colorizer.dark_limit,
               "upsampling": "guided" if colorizer.guided else "cubic", "max_side": max_side, **summary}
    output.mkdir(parents=True, exist_ok=True)
    atomic_write_bytes(output / "summary.json", (json.dumps(summary, indent=2) + "\n").encode())
    table = io.StringIO()
    writer = csv.DictWriter(table, fieldnames=list(rows[0]))
    writer.writeheader()
    writer.writerows({k: (f"{v:.4f}" if isinstance(v, float) else v) for k, v in row.items()} for row in rows)
    atomic_write_bytes(output / "per_photo.csv", table.getvalue().encode())
    title = f"{colorizer.model.weights} on {len(rows)} photos of {label}"
    plot_curves(curves, output / "cdf.png", title)
    plot_by_hue(summary, output / "by_hue.png", f"{title}, by the true colour's hue")
    log.info("wrote %s/{summary.json,per_photo.csv,cdf.png,by_hue.png}", output)
    return summary


def side_by_side_table(summaries):
    """Markdown: one column per set, model beside grey, the numbers the default is chosen by."""
    names = list(summaries)
    lines = ["| | " + " | ".join(f"{name} model | {name} grey" for name in names) + " |",
             "|---|" + "---|---|" * len(names)]
    for key, label in (("auc_rebalanced", "rebalanced AuC %"), ("auc", "AuC %"), ("psnr", "PSNR dB"),
                       ("cf", "colourfulness")):
        cells = [f"{summaries[n]['model'][key]:.2f} | {summaries[n]['grey'][key]:.2f}" for n in names]
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    cells = [f"{summaries[n]['shadows']['model']['b']:.2f} | {summaries[n]['shadows']['truth']['b']:.2f} (truth)" for n in names]
    lines.append("| mean b* of the darkest 20 % | " + " | ".join(cells) + " |")
    lines.append("| colourfulness of the photos | " + " | ".join(f"{summaries[n]['cf_truth']:.2f} | " for n in names) + " |")
    lines.append("| photos | " + " | ".join(f"{summaries[n]['photos']} | " for n in names) + " |")
    return "\n".join(lines) + "\n"


def score_lists(photo_lists, colorizer, output, splits=False, max_side=512, quiet=False):
    """Score the photos of `photo_lists` (files, folders, .txt lists) into `output`: as one set,
    or with `splits` each list on its own into output/NAME/ plus output/splits.md side by side.
    Returns {set name: summary}. Raises ValueError for a list with no photos."""
    sets = ({pathlib.Path(item).stem: [item] for item in photo_lists} if splits else {"photos": photo_lists})
    summaries = {}
    for name, inputs in sets.items():
        photos = list_images(inputs)
        if not photos:
            raise ValueError(f"no photos in {' '.join(map(str, inputs))}")
        summaries[name] = score_set(photos, colorizer, output / name if splits else output,
                                    " ".join(map(str, inputs)), max_side, quiet)
    if splits:
        atomic_write_bytes(output / "splits.md", side_by_side_table(summaries).encode())
    return summaries
