"""Write docs/data.md: what is in the photo set, with a contact sheet per source package, counts,
sizes, and the licences as each package's copyright file states them."""
import collections
import csv
import importlib
import logging
import pathlib
import re


import cv2
import numpy as np

from colornet.common import cache_dir
from colornet.photo_io import read_bgr

log = logging.getLogger("photo_report")
WHEEL_LICENCE_FILES = {"scikit-learn": ("sklearn", "datasets/images/README.txt")}
# scikit-image states each photo's terms in its loader's docstring.
SKIMAGE_LOADERS = ("astronaut", "chelsea", "coffee", "rocket", "stereo_motorcycle")


def contact_sheet(paths, tile=96, columns=10):
    tiles = []
    for path in paths:
        image = read_bgr(path, min_side=tile)
        scale = tile / max(image.shape[:2])
        small = cv2.resize(image, (max(1, int(image.shape[1] * scale)), max(1, int(image.shape[0] * scale))),
                           interpolation=cv2.INTER_AREA)
        canvas = np.full((tile + 4, tile + 4, 3), 255, np.uint8)
        top, left = (tile + 4 - small.shape[0]) // 2, (tile + 4 - small.shape[1]) // 2
        canvas[top:top + small.shape[0], left:left + small.shape[1]] = small
        tiles.append(canvas)
    while len(tiles) % columns and len(tiles) > columns:
        tiles.append(np.full_like(tiles[0], 255))
    width = min(columns, len(tiles))
    return np.vstack([np.hstack(tiles[i:i + width]) for i in range(0, len(tiles), width)])


# The public sets pinned in git (data/sources/public-photos.txt): their licences as their
# repositories state them.
GIT_LICENCES = {
    "EliSchwartz/imagenet-sample-images": "ImageNet's photos: for non-commercial research and education "
                                          "(ImageNet's terms); the repository gathers one per class",
    "VeriSilicon/acuity-dataset": "ImageNet (ILSVRC2012) validation photos: ImageNet's terms (non-commercial research)",
    "BIDS/BSDS500": "Berkeley Segmentation Dataset: for research (its README); photos from the Corel set",
}
SHEET_LIMIT = 60  # photos on a source's contact sheet (a sample of the larger public sets)


def licence_summary(package, version):
    """Licence lines from the package's copyright file (Debian), the wheel's data README, or the
    public set's terms."""
    if package in GIT_LICENCES:
        return f"{GIT_LICENCES[package]} (commit {version})"
    if package == "scikit-image":
        import inspect
        import skimage.data
        notes = []
        for loader in SKIMAGE_LOADERS:
            doc = " ".join(inspect.getdoc(getattr(skimage.data, loader)).split())
            match = re.search(r"[^.]*(public domain|copyright|CC0|Middlebury)[^.]*\.", doc, re.I)
            notes.append(f"{loader}: {match.group(0).strip() if match else 'no statement'}")
        return "; ".join(notes) + " (per the `skimage.data` docstrings)"
    if package in WHEEL_LICENCE_FILES:
        module_name, relative = WHEEL_LICENCE_FILES[package]
        path = pathlib.Path(importlib.import_module(module_name).__file__).parent / relative
        source = f"`{module_name}/{relative}` in the wheel"
    else:
        root = cache_dir() / "unpacked" / f"{package}_{version.replace(':', '%3a')}"
        path = root / "usr/share/doc" / package / "copyright"
        source = f"`/usr/share/doc/{package}/copyright`"
    if not path.exists():
        return f"copyright file not found in the unpacked package ({source})"
    text = path.read_text(errors="replace")
    licences = sorted({value.strip() for value in re.findall(r"^License:[ \t]*(\S.*)$", text, re.M)})
    if licences:
        return f"{', '.join(licences)} (per {source})"
    excerpt = " ".join(line.strip() for line in text.splitlines()
                       if re.search(r"licen[cs]e|copyright|public domain|CC[- ]BY", line, re.I))[:400]
    return f"{excerpt or 'no licence statement found'} (per {source})"


TEST_SPLIT_NOTE = (
    "**The cross-source test split** (`data/photos/test.txt`) holds every photo of a few whole source "
    "packages, named in `tools/gather_photos.py` (TEST_PACKAGES) and chosen before any model was "
    "scored on them: gimp-help-en (the GIMP manual's original example photos: flowers, animals, "
    "buildings, people, a car, a landscape), hugin-data (panorama-tutorial photos: a riverfront, "
    "interiors, a forest, a bridge), libvisp-doc (robots, boards and a living room) and shotcut-data "
    "(a kitten, a puppy, flowers, dunes, a mountain lake, leaves). None of them was in any earlier "
    "training set, and val shares sources with train (the same packages, often the same scenes), so "
    "test is how well colours carry over to photos from elsewhere. Four packages rather than two or "
    "three: no three of the new packages with real variety reach 50 photos without cimg-doc's "
    "webcam shots of postcards, whose colour casts would make a poor measure. Nothing is trained on "
    "test or chosen on it: models, snapshots and decodings are chosen on val, and test is scored once, "
    "at the end.")


SECOND_HUNT_NOTE = (
    "**The second hunt** (`data/sources/more-photos-2.txt`, 479 photos in 16 packages, each checked by "
    "eye when it was listed) adds 474 photos. `make photos` skips 4 supertuxkart textures that are "
    "cut-outs on a transparent background (oak leaves, gravel, snowy rock, koi), cuts stellarium's "
    "panoramas to the rows below their transparent sky (13 train, 2 val), and keeps one of each "
    "near-duplicate pair (6 pairs over the whole set, one of them in eyes17). Our contact sheets below show nothing "
    "else that is recoloured or not a photograph: the 10 clearly recoloured endless-sky landscapes "
    "were already left out of the list; a few strongly graded sunsets and the Mars-rover shots stay "
    "(real photos, if not typical Earth colours). The cimg-doc postcards are photos of prints, kept "
    "for variety in train and val.")


def write_report(photos, docs):
    """Write docs/data.md and docs/data/PACKAGE.jpg contact sheets from photos/manifest.csv."""
    manifest = photos / "manifest.csv"
    if not manifest.exists():
        raise FileNotFoundError(f"{manifest} not found: run `make photos` first")
    rows = list(csv.DictReader(open(manifest, newline="")))
    by_package = collections.OrderedDict()
    for row in sorted(rows, key=lambda r: (r["source_package"], r["file"])):
        by_package.setdefault(row["source_package"], []).append(row)
    sheets = docs / "data"
    sheets.mkdir(parents=True, exist_ok=True)
    lines = ["# The photo set", "",
             "Generated by `tools/photo_report.py` from `data/photos/manifest.csv` (built by `make photos`).",
             "All are real colour photographs: from package registries (Debian packages, downloaded, not",
             "installed; the scikit-image / scikit-learn wheels) and from three public sets pinned in git",
             "(ImageNet's sample and validation photos, BSDS500; data/sources/public-photos.txt). Near-duplicates",
             "are kept once; grey photos of the public sets are skipped. ImageNet's dog classes are set aside",
             "(`dogs.txt`): never in train, val or test, they are the fine-tuning benchmark's.", "",
             f"**{len(rows)} photos**: {sum(r['split'] == 'train' for r in rows)} train, "
             f"{sum(r['split'] == 'val' for r in rows)} val (seeded split by photo), "
             f"{sum(r['split'] == 'test' for r in rows)} test (whole held-out packages: "
             f"{', '.join(sorted({r['source_package'] for r in rows if r['split'] == 'test'})) or 'none'}), "
             f"{sum(r['split'] == 'dogs' for r in rows)} dogs set aside.", "",
             TEST_SPLIT_NOTE, "", SECOND_HUNT_NOTE, "",
             "| source | version | photos | train / val / test / dogs | sizes (w×h, min–max of short side) | licence |",
             "|---|---|---|---|---|---|"]
    for package, group in by_package.items():
        shorts = [min(int(r["width"]), int(r["height"])) for r in group]
        common = collections.Counter(f"{r['width']}×{r['height']}" for r in group).most_common(1)[0][0]
        split = "/".join(str(sum(r["split"] == name for r in group)) for name in ("train", "val", "test", "dogs"))
        licence = licence_summary(package, group[0]["source_version"]).replace("|", "/")
        lines.append(f"| {package} | {group[0]['source_version']} | {len(group)} | {split} "
                     f"| mostly {common}; short side {min(shorts)}–{max(shorts)} | {licence} |")
    lines += ["", "## Contact sheets", ""]
    for package, group in by_package.items():
        shown = group[::max(1, -(-len(group) // SHEET_LIMIT))]
        sheet = contact_sheet([photos / r["file"] for r in shown])
        name = f"{package.replace('/', '+')}.jpg"
        cv2.imwrite(str(sheets / name), sheet, [cv2.IMWRITE_JPEG_QUALITY, 80])
        sample = f", every {len(group) // len(shown)}th shown" if len(shown) < len(group) else ""
        lines += [f"### {package} ({len(group)}{sample})", "", f"![{package}](data/{name})", ""]
    (docs / "data.md").write_text("\n".join(lines))
    log.info("wrote %s and %d contact sheets", docs / "data.md", len(by_package))
