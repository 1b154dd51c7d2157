"""Fine-tuning the shipped model on a user's own colour photos: records, training for a wall-clock
budget, choosing a snapshot and a temperature on held-out photos, exporting models/NAME.

Everything of one NAME lives in models/snapshots/finetune-NAME/ (ignored by git): the split, the
records, the solver, the log and the snapshots. Running again with the same NAME continues from
the newest snapshot for another budget; models/NAME is replaced only by a complete new export.

The recipe (each choice's measurements: docs/finetune.md, "Why the recipe is what it is"):
- the base model's own training net (RECIPES, by the base's deploy net), from its weights;
- only the top of the net learns (the lite color net: conv7_1 on, every BatchNorm keeping the
  shipped statistics; the squeeze family: its colour head, the ImageNet trunk frozen);
- Adam at a fixed rate (RECIPES);
- each photo whole at short sides 160, 224 and 320 (the default's own last records), 128-pixel
  crops with mirroring drawn anew every epoch, batch 16;
- a snapshot every SNAPSHOT_SECONDS of training, each scored on the held-out photos at a few
  temperatures and undo strengths, the default's own weights competing (tuning.choose).
"""
import dataclasses
import hashlib
import json
import logging
import pathlib
import re
import shutil

from colornet.common import REPO_ROOT
from colornet.data.samples import MAX_ASPECT

log = logging.getLogger("finetune")
MODELS = REPO_ROOT / "models"
NAME_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$")
SCALES = (160, 224, 320)  # short sides each photo is stored at (the default's make lmdb-scales)
SNAPSHOT_SECONDS = 300
# Grey photos teach no colour: mean |U| + |V| over the photo (8-bit offsets from grey) below this.
GREY_CHROMA = 2.0
PHOTO_RECORD_BYTES = sum(2 * side * round(side * MAX_ASPECT) + 64 for side in SCALES)  # Y + class, widest
SNAPSHOT_BYTES = 2 * 8 * 2 ** 20  # weights + solver state of the lite net (the squeeze net's: 2 × 5 MB), with room


@dataclasses.dataclass(frozen=True)
class Recipe:
    """How a base model is fine-tuned: its deploy and training nets, and what of them learns."""
    deploy: pathlib.Path
    train_net: pathlib.Path
    train_from: str          # the first layer that learns; those below keep the shipped weights
    learning_rate: float
    prior: str               # the class prior its loss was rebalanced with (λ, ignored class below)
    boost_lambda: float = 0.2
    ignored_class: int = 36


PROTOTXT = REPO_ROOT / "prototxt"
# By the base model's deploy net's name (its deploy.prototxt's `name:`).
RECIPES = {
    "color_lite_deploy": Recipe(PROTOTXT / "deploy_color_lite.prototxt",
                                PROTOTXT / "train_val_color_lite_rebalance.prototxt", "conv7_1", 1e-5,
                                "data/yuv64_prior_probs.npy"),
    # The head stage's own net: the trunk is frozen there already; the head learns at a tenth of
    # the head stage's first rate (3e-5 with 3-minute snapshots and a fifth held out did worse on
    # the dogs: docs/finetune.md).
    "squeeze_deploy": Recipe(PROTOTXT / "deploy_squeeze.prototxt", PROTOTXT / "train_val_squeeze_head.prototxt",
                             "pool1_reduce", 1e-4, "data/yuv64_prior_probs_world.npy"),
}
DEPLOY_NAME = re.compile(r'^name:\s*"([^"]+)"', re.MULTILINE)


def recipe_for(model):
    """The Recipe of a colorize.models.Model (by its deploy net's name)."""
    match = DEPLOY_NAME.search(model.deploy.read_text())
    name = match.group(1) if match else None
    if name not in RECIPES:
        raise FinetuneError(f"{model.deploy}: fine-tuning knows the nets {', '.join(sorted(RECIPES))}, not {name!r} "
                            "(fine-tune the default model, BASE=default)")
    return RECIPES[name]


class FinetuneError(ValueError):
    """Input the fine-tuning cannot use: its message is the one line the user sees."""


@dataclasses.dataclass
class FinetuneOptions:
    photos: list                       # files, folders, .txt lists
    name: str
    minutes: float = 30.0
    base_model: str = "default"
    holdout_fraction: float = 0.1
    min_holdout: int = 5
    min_photos: int = 20
    seed: int = 0
    iterations: int = None             # stop after this many more iterations (tests); None: by time
    workers: int = 2
    quiet: bool = False
    models_dir: pathlib.Path = MODELS  # where models/NAME goes (tests: a temporary folder)

    @property
    def work(self):
        return pathlib.Path(self.models_dir) / "snapshots" / f"finetune-{self.name}"


def shipped_models():
    """Model folders git tracks: never overwritten by a fine-tuning."""
    import subprocess
    listed = subprocess.run(["git", "ls-files", "models"], cwd=REPO_ROOT, capture_output=True, text=True)
    names = {pathlib.PurePosixPath(path).parts[1] for path in listed.stdout.split() if path.count("/") >= 2}
    return names - {"snapshots"} | {"default"}


def check_name(name, models_dir=MODELS):
    if not NAME_PATTERN.match(name):
        raise FinetuneError(f"NAME {name!r}: use letters, digits, '-' and '_' (e.g. NAME=family-archive)")
    if name in shipped_models():
        raise FinetuneError(f"models/{name} is a shipped model; choose another NAME (e.g. NAME=my-{name})")
    existing = pathlib.Path(models_dir) / name / "model.json"
    if existing.is_file() and "finetuned_from" not in json.loads(existing.read_text()):
        raise FinetuneError(f"models/{name} exists and was not made by fine-tuning; choose another NAME")


def holdout_rank(path, seed):
    """A photo's place in [0, 1) of the seeded order, from its name and the seed alone."""
    digest = hashlib.sha256(f"{seed}:{pathlib.Path(path).name}:{path}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2 ** 64


def split_photos(usable, fraction, minimum, seed, earlier=None):
    """(train, held out). A photo is held out when its seeded rank is below ``fraction``, and the
    lowest-ranked others are added until ``minimum`` are. ``earlier`` (a previous split.json's
    dict) keeps every photo it names where it was: adding photos to the folder never moves a
    held-out photo into training or back (only new photos are placed, by their own rank)."""
    earlier = earlier or {}
    kept_train, kept_holdout = set(earlier.get("train", ())), set(earlier.get("holdout", ()))
    train, holdout, new = [], [], []
    for path in usable:
        (holdout if str(path) in kept_holdout else train if str(path) in kept_train else new).append(path)
    ranked = sorted(new, key=lambda path: holdout_rank(path, seed))
    below = sum(holdout_rank(path, seed) < fraction for path in ranked)
    count = max(below, minimum - len(holdout), 0)
    return sorted(train + ranked[count:]), sorted(holdout + ranked[:count])


def usable_photos(inputs):
    """(colour photos, grey ones, unreadable ones' errors): each photo read once, at low cost."""
    import cv2
    import numpy as np
    from colornet.photo_io import UnreadableImage, list_images, read_bgr
    colour, grey, unreadable = [], [], []
    for path in list_images(inputs):
        try:
            image = read_bgr(path, min_side=64)
        except UnreadableImage as error:
            unreadable.append(str(error))
            continue
        chroma = cv2.cvtColor(image, cv2.COLOR_BGR2YUV)[..., 1:].astype(np.int16) - 128
        (colour if np.abs(chroma).sum(axis=2).mean() >= GREY_CHROMA else grey).append(path)
    return colour, grey, unreadable


def check_disk(folder, train_photos, snapshots=8):
    needed = train_photos * PHOTO_RECORD_BYTES * 2 + snapshots * SNAPSHOT_BYTES
    folder.mkdir(parents=True, exist_ok=True)
    free = shutil.disk_usage(folder).free
    if free < needed:
        raise FinetuneError(f"{folder}: {free / 2**20:.0f} MB free, fine-tuning on {train_photos} photos needs about "
                            f"{needed / 2**20:.0f} MB (free some space or use fewer photos)")


def prepare(options):
    """Check the input, split it (kept in split.json: a rerun uses the same split) and build the
    records. Returns (split dict, notes)."""
    check_name(options.name, options.models_dir)
    work = options.work
    split_file = work / "split.json"
    colour, grey, unreadable = usable_photos(options.photos)
    for error in unreadable:
        log.warning("skipped %s", error)
    if grey:
        log.warning("skipped %d grey photo(s) (no colour to learn from), e.g. %s", len(grey), grey[0])
    if len(colour) < options.min_photos:
        raise FinetuneError(f"{' '.join(map(str, options.photos))}: {len(colour)} usable colour photos "
                            f"({len(grey)} grey, {len(unreadable)} unreadable skipped); fine-tuning needs at "
                            f"least {options.min_photos}")
    earlier = json.loads(split_file.read_text()) if split_file.is_file() else None
    if earlier is not None and earlier.get("seed") != options.seed:
        raise FinetuneError(f"{options.name}: was split with seed {earlier.get('seed')}, not {options.seed}; "
                            f"use the same seed, or another NAME")
    train, holdout = split_photos(colour, options.holdout_fraction, options.min_holdout, options.seed, earlier)
    split = {"train": [str(p) for p in train], "holdout": [str(p) for p in holdout], "seed": options.seed,
             "skipped_grey": len(grey), "skipped_unreadable": len(unreadable)}
    check_disk(work, len(train))
    records = work / "train_lmdb"
    sidecar = records / "colornet.json"
    built = json.loads(sidecar.read_text()) if sidecar.is_file() else {}
    if (built.get("inputs"), built.get("scales")) != (split["train"], list(SCALES)):
        from colornet.data.lmdb_writer import RecordOptions, build, write_records
        write_records(build, RecordOptions(train, records, scales=SCALES, force=True, workers=options.workers,
                                           quiet=options.quiet, seed=options.seed))
    split_file.write_text(json.dumps(split, indent=1))
    return split
