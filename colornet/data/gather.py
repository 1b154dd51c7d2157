"""Gather colornet's training photos into data/photos/ with a manifest and a seeded train/val split.

Sources (all from package registries, real photographs only):
- the photographs in Debian's gcompris-qt-data, read out of its Qt .rcc archives
  (data/sources/gcompris-photos.txt lists them, checked by eye);
- the photos bundled in the scikit-image and scikit-learn wheels;
- the extended sets: the photos in ~20 more Debian packages (data/sources/more-photos.txt) and in
  16 more found by a second hunt (data/sources/more-photos-2.txt);
- the public sets pinned in data/sources/public-photos.txt (ImageNet's sample and validation photos,
  BSDS500), read from git at their pinned commits (colornet/data/git_photos.py). Grey photos among
  them are skipped and counted. They go to train and val only; ImageNet's dog classes go to the
  fourth list, dogs.txt, and never to train, val or test (they are the fine-tuning benchmark's).

Every photo of the held-out test packages (TEST_PACKAGES) goes to the cross-source test split
(test.txt): never trained on, never used to pick a snapshot. The others are split train/val by a
seeded hash of their name. PNGs whose sky is transparent (stellarium's panoramas) are cut to
their widest fully opaque band of rows: compositing on white would teach the net white skies.

Near-duplicates (the same picture at another size) are kept once, the largest. Three steps, one
module each: collect.py (every source's photos), curate.py (skies, greys, duplicates), and this
one (splits, manifest, writing the folder whole or not at all).
"""
import csv
import dataclasses
import hashlib
import json
import logging
import pathlib

from colornet.common import REPO_ROOT, atomic_output_dir, cache_dir
from colornet.data.collect import AptSession, debian_list_photos, gcompris_photos, public_photos, wheel_photos
from colornet.data.curate import GreyPhoto, describe, drop_near_duplicates
from colornet.photo_io import UnreadableImage

log = logging.getLogger("gather_photos")

# Whole source packages held out as the cross-source test split (docs/data.md says why these):
# varied content (flowers, animals, buildings, people, a car, interiors, a forest, robots,
# landscape), none in any earlier training set, chosen before any model was scored on them.
TEST_PACKAGES = ("gimp-help-en", "hugin-data", "libvisp-doc", "shotcut-data")
SPLITS = ("train", "val", "test", "dogs")
MANIFEST_FIELDS = ["file", "split", "source_package", "source_version", "source_path",
                   "width", "height", "bytes", "sha256"]


def assign_split(name, seed, val_fraction, package=None, test_packages=()):
    """'test' for every photo of a held-out package, else 'val' or 'train' from a seeded hash of
    the photo's name: stable when photos are added."""
    if package in test_packages:
        return "test"
    digest = hashlib.sha256(f"{seed}:{name}".encode()).digest()
    return "val" if int.from_bytes(digest[:8], "big") / 2 ** 64 < val_fraction else "train"


def read_manifest(folder):
    with open(pathlib.Path(folder) / "manifest.csv", newline="") as manifest:
        return list(csv.DictReader(manifest))


def is_current(folder, inputs_key):
    """The folder was gathered with the same inputs and every file matches its manifest entry."""
    folder = pathlib.Path(folder)
    try:
        sidecar = json.loads((folder / "gather.json").read_text())
        rows = read_manifest(folder)
    except (OSError, ValueError):
        return False
    return sidecar.get("inputs_key") == inputs_key and all(
        (folder / row["file"]).is_file() and (folder / row["file"]).stat().st_size == int(row["bytes"])
        for row in rows)


@dataclasses.dataclass
class GatherOptions:
    """What to gather and how to split it (tools/gather_photos.py's options of the same names)."""
    output: pathlib.Path = REPO_ROOT / "data" / "photos"
    gcompris_list: pathlib.Path = REPO_ROOT / "data" / "sources" / "gcompris-photos.txt"
    extended_list: list = dataclasses.field(default_factory=lambda: [
        REPO_ROOT / "data" / "sources" / name for name in ("more-photos.txt", "more-photos-2.txt")])
    test_packages: list = dataclasses.field(default_factory=lambda: list(TEST_PACKAGES))
    public_list: pathlib.Path = REPO_ROOT / "data" / "sources" / "public-photos.txt"  # None: leave them out
    mirror: str = None      # PHOTO_MIRROR: a folder of clones named owner+name (None: the environment's)
    no_wheels: bool = False
    seed: int = 0
    val_fraction: float = 0.1
    force: bool = False


class GatherError(RuntimeError):
    """Nothing could be gathered."""


def gather(options):
    """Gather the photos into ``options.output`` (a GatherOptions); returns {split: photos} (None
    when the folder was up to date). Raises GatherError when no photo could be gathered."""
    lists = [path for path in [options.gcompris_list, *options.extended_list, options.public_list] if path]
    inputs_key = hashlib.sha256(json.dumps(
        [pathlib.Path(p).read_text() for p in lists]
        + [options.seed, options.val_fraction, options.no_wheels, sorted(options.test_packages)]
    ).encode()).hexdigest()
    if not options.force and is_current(options.output, inputs_key):
        log.info("%s is up to date (use --force to gather again)", options.output)
        return None
    cache = cache_dir()
    failures = []
    apt = AptSession()
    photos = gcompris_photos(options.gcompris_list, cache, failures, apt) if options.gcompris_list else []
    if not options.no_wheels:
        photos += wheel_photos()
    for extended_list in options.extended_list:
        photos += debian_list_photos(extended_list, cache, failures, apt)
    if options.public_list:
        photos += public_photos(options.public_list, cache, failures, options.mirror)
    readable, greys = [], []
    for photo in photos:
        try:
            describe(photo)
            readable.append(photo)
        except GreyPhoto as err:
            log.debug("%s; skipped", err)
            greys.append(photo.file)
        except UnreadableImage as err:
            log.warning("%s; skipped", err)
            failures.append(str(err))
    if not readable:
        raise GatherError(f"no photos could be gathered ({len(failures)} problems: "
                          f"{failures[0] if failures else 'no source listed'})")
    kept, duplicates = drop_near_duplicates(readable)
    for dropped, twin in duplicates:
        log.info("near-duplicate: %s is %s at another size; kept once", dropped, twin)

    with atomic_output_dir(options.output, force=True) as staging:
        rows = []
        for photo in kept:
            target = staging / photo.file
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(photo.payload)
            split = photo.set_aside or assign_split(photo.file, options.seed, options.val_fraction, photo.package,
                                                    options.test_packages)
            rows.append({"file": photo.file, "split": split,
                         "source_package": photo.package, "source_version": photo.version,
                         "source_path": photo.source_path, "width": photo.width, "height": photo.height,
                         "bytes": len(photo.payload), "sha256": hashlib.sha256(photo.payload).hexdigest()})
        with open(staging / "manifest.csv", "w", newline="") as manifest:
            writer = csv.DictWriter(manifest, fieldnames=MANIFEST_FIELDS)
            writer.writeheader()
            writer.writerows(rows)
        for split in SPLITS:
            (staging / f"{split}.txt").write_text(
                "".join(f"{row['file']}\n" for row in rows if row["split"] == split))
        counts = {}
        for row in rows:
            counts.setdefault(row["source_package"], dict.fromkeys(SPLITS, 0))[row["split"]] += 1
        per_split = {split: sum(r["split"] == split for r in rows) for split in SPLITS}
        (staging / "gather.json").write_text(json.dumps({
            "inputs_key": inputs_key, "seed": options.seed, "val_fraction": options.val_fraction,
            "test_packages": sorted(options.test_packages), "photos": len(rows), **per_split,
            "per_package": counts,
            "near_duplicates_dropped": duplicates, "greys_skipped": greys, "failures": failures}, indent=1))
    log.info("%d photos in %s (%d train, %d val, %d test; %d dogs set aside) from %d sources; %d near-duplicates "
             "dropped; %d grey photos skipped; %d problems", len(rows), options.output, per_split["train"],
             per_split["val"], per_split["test"], per_split["dogs"], len(counts), len(duplicates), len(greys),
             len(failures))
    for failure in failures:
        log.warning("problem: %s", failure)
    return per_split
