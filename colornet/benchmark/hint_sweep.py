"""ideepcolor's sweep of colour hints (bench/bench_hints.py runs it): its points, Levin's
propagation from grey as the no-learning baseline, and the scores per method, number of points and
draw, photos spread over worker processes."""
import copy
import functools
import logging
import multiprocessing
import time

import cv2
import numpy as np

from colornet.colorize import families
from colornet.colorize import hints as hint_module
from colornet.colorize.models import Model
from colornet.colorize.pipeline import Colorizer, compose, luminance
from colornet.colour import lab313
from colornet.evaluate.scoring import ErrorHistogram
from colornet.photo_io import UnreadableImage, read_bgr

log = logging.getLogger("bench_hints")
COUNTS = (0, 1, 2, 5, 10, 20, 50, 100)
PATCH = 6


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
