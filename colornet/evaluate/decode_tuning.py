"""Choose a model's decoding on val (YUV-64, or Lab/313 with its mean only): how much of the training's class rebalancing to undo,
the annealed mean's temperature (or the geometric median), and the luminance below which chroma
fades to grey (colorize/decoding.py says why).

Every combination of the grid is scored on the same photos with scoring.evaluate (the net runs
once per photo: its outputs are kept for the sweep, which holds the val set's 64×112×112
probabilities, about 1 MB a photo). The rule, in order:
1. among the settings whose plain AuC is at least grey's, whose colourfulness is at least a
   third of the photos' and whose shadows are not cast (the mean b* of the darkest 20 % of pixels
   within SHADOW_TOLERANCE of the photos'), the highest rebalanced AuC;
2. if none, the setting with the highest plain AuC (no colour is better than wrong colour).
With ``card``, the choice is written into the model folder's model.json (``decode``,
``temperature``, ``class_scale``, ``dark_limit`` and how they were chosen), which every surface
then uses. (The geometric median is not in the default grid: in the sweeps of 2026-12-02 it
never beat the annealed mean at the same plain AuC.)

The command line: tools/tune_decode.py.
"""
import dataclasses
import hashlib
import itertools
import json
import logging
import pathlib

import numpy as np

from colornet.colorize import decoding
from colornet.colorize.models import Model
from colornet.colorize.pipeline import Colorizer
from colornet.colorize.settings import DEFAULT_TEMPERATURE
from colornet.common import atomic_write_bytes
from colornet.evaluate.scoring import evaluate
from colornet.photo_io import list_images
from colornet.colour import lab313
from colornet.colour.yuv64 import class_boost_weights

log = logging.getLogger("tune_decode")
STRENGTHS = (0.0, 0.5, 1.0)
DARK_LIMITS = (0, 96, 128, 192)
SHADOW_TOLERANCE = 3.0  # b* units: the issue's bound for "the shadows are not blue"
DECODES = (("mean", DEFAULT_TEMPERATURE), ("mean", 0.5), ("mean", 0.6), ("mean", 1.0))


@dataclasses.dataclass
class Boost:
    """The rebalancing the weights were trained with: prior .npy, λ, and the class the loss skipped
    (None when the loss counted every class)."""
    prior: str
    boost_lambda: float
    ignore_class: int = 36
    family: str = "yuv64"     # lab313: Zhang et al.'s prior boost over the 313 bins (no class ignored)

    def weights(self):
        prior = np.load(lab313.repo_path(self.prior))
        if self.family == "lab313":
            return lab313.prior_boost_weights(prior, self.boost_lambda)
        return class_boost_weights(prior, self.boost_lambda, self.ignore_class)

    def card_scale(self, strength):
        """The model card's class_scale undoing `strength` of this rebalancing (None for 0)."""
        if not strength:
            return None
        return [round(float(x), 6) for x in decoding.boost_undoing_scale(self.weights(), strength)]


class CachingRunner:
    """A runner that remembers each input batch's outputs: the sweep decodes one val set many ways."""

    def __init__(self, runner):
        self.runner, self.name, self.outputs = runner, runner.name, {}

    def forward(self, batch, outputs=None):
        key = hashlib.sha256(np.ascontiguousarray(batch).tobytes()).hexdigest()
        if key not in self.outputs:
            self.outputs[key] = self.runner.forward(batch, outputs)
        return self.outputs[key]


def sweep(photos, model, boost, backend=None, max_side=512, strengths=STRENGTHS, decodes=DECODES,
          dark_limits=DARK_LIMITS, progress=False):
    """[{strength, decode, temperature, dark_limit, summary}] for every combination, in grid order."""
    base = Colorizer(model, backend)
    base.runner = CachingRunner(base.runner)
    class_weights = boost.weights()
    results = []
    for strength in strengths:
        model.class_scale = decoding.boost_undoing_scale(class_weights, strength).tolist() if strength else None
        for (method, temperature), dark_limit in itertools.product(decodes, dark_limits):
            colorizer = base.with_settings(decode=method, temperature=temperature, dark_limit=dark_limit)
            summary, _, _ = evaluate(photos, colorizer.colorize, max_side, progress=progress)
            results.append({"strength": strength, "decode": method, "temperature": temperature,
                            "dark_limit": dark_limit, "summary": summary})
            log.info("undo %.2f of the boost, %s at T %.2f, dark limit %d: rebalanced AuC %.2f, AuC %.2f (grey %.2f), "
                     "colourfulness %.1f", strength, method, temperature, dark_limit,
                     summary["model"]["auc_rebalanced"], summary["model"]["auc"], summary["grey"]["auc"],
                     summary["model"]["cf"])
    return results


def meets_floor(summary, plain_margin=0.0):
    shadows = summary["shadows"]
    return (summary["model"]["auc"] >= summary["grey"]["auc"] + plain_margin
            and summary["model"]["cf"] >= summary["cf_truth"] / 3
            and abs(shadows["model"]["b"] - shadows["truth"]["b"]) <= SHADOW_TOLERANCE)


def choose(results, plain_margin=0.0):
    """The rule of the module's docstring, plain AuC at least grey's + plain_margin in clause 1;
    → (the chosen result, which clause chose it)."""
    floor = [result for result in results if meets_floor(result["summary"], plain_margin)]
    above = f"at or above grey's plain AuC + {plain_margin:g}" if plain_margin else "at or above grey's plain AuC"
    if floor:
        return (max(floor, key=lambda r: r["summary"]["model"]["auc_rebalanced"]),
                f"best rebalanced AuC {above}, without a cast in the shadows")
    return (max(results, key=lambda r: r["summary"]["model"]["auc"]),
            f"none reached grey's plain AuC{f' + {plain_margin:g}' if plain_margin else ''} without a cast in the "
            "shadows: the highest plain AuC")


def table(results, chosen):
    lines = ["| undo of the boost | decode | T | dark limit | rebalanced AuC % | AuC % | PSNR dB | colourfulness | "
             "b* of the darkest 20 % |", "|---|---|---|---|---|---|---|---|---|"]
    for result in results:
        s, mark = result["summary"], "**" if result is chosen else ""
        lines.append(f"| {mark}{result['strength']:.2f}{mark} | {result['decode']} | {result['temperature']:.2f} | "
                     f"{result.get('dark_limit', 0)} | "
                     f"{s['model']['auc_rebalanced']:.2f} | {s['model']['auc']:.2f} | {s['model']['psnr']:.2f} | "
                     f"{s['model']['cf']:.1f} | {s['shadows']['model']['b']:+.2f} |")
    s = results[0]["summary"]
    lines.append(f"| grey | | | | {s['grey']['auc_rebalanced']:.2f} | {s['grey']['auc']:.2f} | {s['grey']['psnr']:.2f} | "
                 f"0 | 0 (photos: {s['shadows']['truth']['b']:+.2f}) |")
    return "\n".join(lines) + "\n"


def write_card(folder, chosen, clause, boost, photo_list):
    """Store the chosen decoding in folder/model.json."""
    card_path = pathlib.Path(folder) / "model.json"
    card = json.loads(card_path.read_text())
    card.update({
        "decode": chosen["decode"], "temperature": chosen["temperature"], "dark_limit": chosen["dark_limit"],
        "class_scale": boost.card_scale(chosen["strength"]),
        "decode_chosen_by": f"tools/tune_decode.py on {photo_list}: {clause}; undoes {chosen['strength']} of the "
                            f"training's rebalancing (prior {boost.prior}, lambda {boost.boost_lambda}, "
                            f"ignored class {boost.ignore_class})",
    })
    atomic_write_bytes(card_path, (json.dumps(card, indent=2) + "\n").encode())


def tune(photo_inputs, model_name, weights, boost, output, card=False, backend=None, max_side=512, progress=True,
         strengths=STRENGTHS, plain_margin=0.0):
    """Sweep, choose, write output/{decode_sweep.md,json}; with ``card`` also the model card.
    Returns (chosen result, clause)."""
    photos = list_images(photo_inputs)
    if not photos:
        raise ValueError(f"no photos in {' '.join(map(str, photo_inputs))}")
    model = Model.resolve(model_name, weights)
    if model.family == "lab313":
        # its only decoding is the annealed mean; the rebalancing undone is the 313 bins' boost
        boost = dataclasses.replace(boost, family="lab313", ignore_class=None)
    model.class_scale, model.method, model.temperature, model.dark_limit = None, None, None, 0  # from the raw net
    results = sweep(photos, model, boost, backend, max_side, strengths=strengths, progress=progress)
    chosen, clause = choose(results, plain_margin)
    output = pathlib.Path(output)
    output.mkdir(parents=True, exist_ok=True)
    heading = f"Decoding of {model.weights} on {len(photos)} photos of {' '.join(map(str, photo_inputs))} ({clause}):\n\n"
    atomic_write_bytes(output / "decode_sweep.md", (heading + table(results, chosen)).encode())
    atomic_write_bytes(output / "decode_sweep.json", (json.dumps(results, indent=1) + "\n").encode())
    if card:
        write_card(model.deploy.parent, chosen, clause, boost, " ".join(map(str, photo_inputs)))
    return chosen, clause
