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

Debian packages are downloaded with the ordinary apt client (download only, no install) and
unpacked into the cache (see tools/common.cache_dir). A package that cannot be fetched is reported
and skipped. Near-duplicates (the same picture at another size) are kept once, the largest.
"""
import csv
import dataclasses
import glob
import hashlib
import json
import logging
import os
import pathlib
import re
import shutil
import subprocess


import cv2
import numpy as np

from colornet.common import REPO_ROOT, atomic_output_dir, cache_dir
from colornet.photo_io import UnreadableImage, decode_bgr
from colornet.data import git_photos
from colornet.data.rcc import RccArchive, RccError

log = logging.getLogger("gather_photos")

GCOMPRIS_PACKAGE = ("gcompris-qt-data", "3.1-2")
GCOMPRIS_RCC_DIR = "usr/share/gcompris-qt/rcc"
WHEEL_PHOTOS = {
    "scikit-image": ("skimage", "data", ["astronaut.png", "chelsea.png", "coffee.png", "rocket.jpg",
                                         "motorcycle_left.png", "motorcycle_right.png"]),
    "scikit-learn": ("sklearn", "datasets/images", ["china.jpg", "flower.jpg"]),
}
# Same picture at another size: grey 32×32 thumbnails correlate above this and the aspect ratios
# agree within DUPLICATE_ASPECT. Checked on the stereo pair motorcycle_left/right (0.93: kept).
DUPLICATE_CORRELATION = 0.97
DUPLICATE_ASPECT = 0.03
# Whole source packages held out as the cross-source test split (docs/data.md says why these):
# varied content (flowers, animals, buildings, people, a car, interiors, a forest, robots,
# landscape), none in any earlier training set, chosen before any model was scored on them.
TEST_PACKAGES = ("gimp-help-en", "hugin-data", "libvisp-doc", "shotcut-data")
SPLITS = ("train", "val", "test", "dogs")
# A public photo is grey when fewer than this share of its thumbnail's pixels have a chroma
# (|U − 128| or |V − 128|) above GREY_CHROMA levels: ImageNet's grey JPEGs sit within ±2.
GREY_CHROMA = 4
GREY_SHARE = 0.02
# A photo must keep this much of its short side after its transparent rows are cut away.
MIN_OPAQUE_SIDE = 128
MANIFEST_FIELDS = ["file", "split", "source_package", "source_version", "source_path",
                   "width", "height", "bytes", "sha256"]


class FetchError(RuntimeError):
    """A Debian package could not be downloaded or unpacked."""


@dataclasses.dataclass
class Photo:
    file: str            # path under the photo folder
    package: str
    version: str
    source_path: str
    payload: bytes
    width: int = 0
    height: int = 0
    thumbnail: np.ndarray = None
    set_aside: str = None   # a split decided by the source (ImageNet's dogs: "dogs")
    must_have_colour: bool = False


class GreyPhoto(UnreadableImage):
    """A photo with no colour to learn from."""


class AptSession:
    """What one gathering run knows about apt: whether it has refreshed the package lists."""

    def __init__(self):
        self.lists_refreshed = False

    def refresh_lists_once(self):
        """On a fresh machine apt's package lists may be empty: update them once per run (as root)."""
        if self.lists_refreshed or os.geteuid() != 0:
            return False
        self.lists_refreshed = True
        log.info("updating apt's package lists (apt-get update)")
        return subprocess.run(["apt-get", "update", "-qq"], capture_output=True).returncode == 0


def fetch_deb(package, version, cache, apt):
    """Download and unpack a Debian package (no install). Returns (unpacked root, version got).

    Tries the listed version first and falls back to the registry's current one with a warning;
    ``apt`` (an AptSession) refreshes the package lists at most once per run if both fail.
    """
    debs = cache / "debs"
    debs.mkdir(parents=True, exist_ok=True)
    unpacked = cache / "unpacked"
    unpacked.mkdir(exist_ok=True)
    existing = sorted(debs.glob(f"{package}_*.deb"))
    wanted = [deb for deb in existing if _deb_version(deb) == version]
    deb = wanted[0] if wanted else None
    if deb is None:
        deb = _apt_download(package, version, debs) or _apt_download(package, None, debs)
        if deb is None and apt.refresh_lists_once():
            deb = _apt_download(package, version, debs) or _apt_download(package, None, debs)
        if deb is None:
            raise FetchError(f"{package}: not available from the package registry "
                             f"(neither version {version} nor any other)")
    got = _deb_version(deb)
    if got != version:
        log.warning("%s: version %s is not available; using %s (listed paths may differ)", package, version, got)
    root = unpacked / f"{package}_{got.replace(':', '%3a')}"
    if not (root / ".complete").exists():
        staging = root.with_name(root.name + ".partial")
        shutil.rmtree(staging, ignore_errors=True)
        result = subprocess.run(["dpkg-deb", "-x", str(deb), str(staging)], capture_output=True, text=True)
        if result.returncode != 0:
            shutil.rmtree(staging, ignore_errors=True)
            raise FetchError(f"{package}: cannot unpack {deb.name}: {result.stderr.strip()}")
        (staging / ".complete").write_text(got)
        shutil.rmtree(root, ignore_errors=True)
        staging.rename(root)
    return root, got


def _deb_version(deb):
    result = subprocess.run(["dpkg-deb", "-f", str(deb), "Version"], capture_output=True, text=True)
    return result.stdout.strip()


def _apt_download(package, version, debs):
    spec = f"{package}={version}" if version else package
    before = set(debs.glob("*.deb"))
    result = subprocess.run(["apt-get", "download", "-qq", spec], cwd=debs, capture_output=True, text=True)
    if result.returncode != 0:
        reason = (result.stderr.strip().splitlines() or ["unknown error"])[-1]
        log.debug("apt-get download %s failed: %s", spec, reason)
        return None
    new = sorted(set(debs.glob("*.deb")) - before) or sorted(debs.glob(f"{package}_*.deb"))
    return new[-1] if new else None


def parse_gcompris_list(path):
    """Lines '<activity>/<path in archive> WxH' → list of (activity, member path)."""
    entries = []
    for line in pathlib.Path(path).read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            activity, member = line.split()[0].split("/", 1)
            entries.append((activity, member))
    return entries


def parse_package_list(path):
    """'## package version (notes)' headers with path globs under them → [(package, version, [globs])]."""
    groups = []
    for line in pathlib.Path(path).read_text().splitlines():
        if line.startswith("## "):
            package, version = line[3:].split()[:2]
            groups.append((package, version, []))
        elif line.strip() and not line.startswith("#"):
            if not groups:
                raise ValueError(f"{path}: path '{line}' before any '## package version' header")
            # A path may hold spaces; a note after it is set off by two spaces and parentheses.
            pattern = re.sub(r"\s{2,}\(.*\)\s*$", "", line).strip()
            groups[-1][2].extend(expand_braces(pattern))
    return groups


def expand_braces(pattern):
    """'a/{x,y}.jpg' → ['a/x.jpg', 'a/y.jpg'] (glob has no brace expansion)."""
    match = re.search(r"\{([^{}]*)\}", pattern)
    if not match:
        return [pattern]
    return [expanded for option in match.group(1).split(",")
            for expanded in expand_braces(pattern[:match.start()] + option + pattern[match.end():])]


def gcompris_photos(list_path, cache, failures, apt):
    try:
        root, version = fetch_deb(*GCOMPRIS_PACKAGE, cache, apt)
    except FetchError as err:
        log.error("%s; skipping its photos", err)
        failures.append(str(err))
        return []
    photos, archives = [], {}
    for activity, member in parse_gcompris_list(list_path):
        try:
            if activity not in archives:
                archives[activity] = RccArchive.open(root / GCOMPRIS_RCC_DIR / f"{activity}.rcc")
            payload = archives[activity].read(member)
        except (OSError, RccError, KeyError) as err:
            log.warning("gcompris %s/%s: %s; skipped", activity, member, err)
            failures.append(f"{activity}/{member}: {err}")
            continue
        name = pathlib.PurePosixPath(member).name
        photos.append(Photo(f"{GCOMPRIS_PACKAGE[0]}/{activity}/{name}", GCOMPRIS_PACKAGE[0], version,
                            f"{GCOMPRIS_RCC_DIR}/{activity}.rcc:{member}", payload))
    return photos


def wheel_photos():
    import importlib
    photos = []
    for package, (module_name, folder, names) in WHEEL_PHOTOS.items():
        module = importlib.import_module(module_name)
        base = pathlib.Path(module.__file__).parent / folder
        for name in names:
            photos.append(Photo(f"{package}/{name}", package, module.__version__,
                                f"{module_name}/{folder}/{name}", (base / name).read_bytes()))
    return photos


def debian_list_photos(list_path, cache, failures, apt):
    photos = []
    for package, version, patterns in parse_package_list(list_path):
        try:
            root, got = fetch_deb(package, version, cache, apt)
        except FetchError as err:
            log.error("%s; skipping its photos", err)
            failures.append(str(err))
            continue
        taken = set()
        for pattern in patterns:
            matches = sorted(glob.glob(glob.escape(str(root)) + "/" + pattern))
            if not matches:
                log.warning("%s %s: no file matches %s; skipped", package, got, pattern)
                failures.append(f"{package}: no file matches {pattern}")
            for match in matches:
                relative = pathlib.Path(match).relative_to(root)
                name = relative.name.replace(" ", "_")
                if name in taken:
                    name = f"{relative.parent.name}_{name}"
                taken.add(name)
                photos.append(Photo(f"{package}/{name}", package, got, str(relative),
                                    pathlib.Path(match).read_bytes()))
    return photos


def opaque_band(payload, name):
    """PNG bytes with transparent pixels → PNG bytes of the widest band of fully opaque rows.

    Returns the payload unchanged when it has no alpha or nothing is transparent, and raises
    UnreadableImage when what stays opaque is too small to be a training photo.
    """
    if payload[:8] != b"\x89PNG\r\n\x1a\n":
        return payload
    image = cv2.imdecode(np.frombuffer(payload, np.uint8), cv2.IMREAD_UNCHANGED)
    if image is None or image.ndim != 3 or image.shape[2] != 4:
        return payload
    opaque_rows = (image[..., 3] == np.iinfo(image.dtype).max).all(axis=1)
    if opaque_rows.all():
        return payload
    best, start = (0, 0), None
    for row, opaque in enumerate(np.append(opaque_rows, False)):
        if opaque and start is None:
            start = row
        elif not opaque and start is not None:
            best = max(best, (row - start, start))
            start = None
    height, top = best
    if min(height, image.shape[1]) < MIN_OPAQUE_SIDE:
        raise UnreadableImage(f"{name}: only {height} fully opaque rows (a transparent sky or a cut-out); "
                              f"fewer than {MIN_OPAQUE_SIDE}")
    return cv2.imencode(".png", np.ascontiguousarray(image[top:top + height, :, :3]))[1].tobytes()


def describe(photo):
    """Fill in size and a 32×32 grey thumbnail (zero mean, unit norm) for duplicate detection.

    A transparent sky is cut away first (opaque_band), so the payload may change.
    """
    photo.payload = opaque_band(photo.payload, photo.file)
    image = decode_bgr(photo.payload, photo.file)
    photo.height, photo.width = image.shape[:2]
    if photo.must_have_colour and is_grey(image):
        raise GreyPhoto(f"{photo.file}: a grey photo (no colour to learn)")
    grey = cv2.resize(cv2.cvtColor(image, cv2.COLOR_BGR2GRAY), (32, 32), interpolation=cv2.INTER_AREA)
    vector = grey.astype(np.float64).ravel()
    vector -= vector.mean()
    photo.thumbnail = vector / (np.linalg.norm(vector) + 1e-9)


def is_grey(image):
    small = cv2.resize(image, (64, 64), interpolation=cv2.INTER_AREA) if image.ndim == 3 else None
    if small is None:
        return True
    chroma = np.abs(cv2.cvtColor(small, cv2.COLOR_BGR2YUV)[..., 1:].astype(np.int16) - 128).max(axis=2)
    return (chroma > GREY_CHROMA).mean() < GREY_SHARE


def public_photos(list_path, cache, failures, mirror=None):
    """The pinned public photos (git_photos), named <repository name>/<path under its photo folder>."""
    photos = []
    pins = git_photos.parse_pins(list_path)
    for pinned_repo, pinned, payload in git_photos.pinned_files(pins, cache, failures, mirror):
        prefixes = git_photos.PUBLIC_SETS.get(pinned_repo.repo, ([""], None))[0]
        prefix = max((p for p in prefixes if pinned.path.startswith(p)), key=len, default="")
        name = pinned_repo.repo.split("/")[1] + "/" + pinned.path[len(prefix):]
        photos.append(Photo(name, pinned_repo.repo, pinned_repo.commit[:12], pinned.path, payload,
                            set_aside="dogs" if git_photos.is_dog(pinned) else None, must_have_colour=True))
    return photos


def drop_near_duplicates(photos):
    """Keep one of each group of near-identical pictures (the one with most pixels).

    Returns (kept, [(dropped file, kept file)]).
    """
    order = sorted(range(len(photos)), key=lambda i: -photos[i].width * photos[i].height)
    thumbnails = np.stack([photos[i].thumbnail for i in order])
    aspects = np.array([photos[i].width / photos[i].height for i in order])
    correlation = thumbnails @ thumbnails.T
    kept, dropped = [], []
    for rank, index in enumerate(order):
        twin = next((k for k in kept if correlation[rank, k] > DUPLICATE_CORRELATION
                     and abs(aspects[rank] / aspects[k] - 1.0) < DUPLICATE_ASPECT), None)
        if twin is None:
            kept.append(rank)
        else:
            dropped.append((photos[index].file, photos[order[twin]].file))
    return [photos[order[rank]] for rank in sorted(kept, key=lambda r: photos[order[r]].file)], dropped


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


def gather(options):
    """Gather the photos into ``options.output`` (a GatherOptions); returns 0, or 1 if none could be."""
    lists = [path for path in [options.gcompris_list, *options.extended_list, options.public_list] if path]
    inputs_key = hashlib.sha256(json.dumps(
        [pathlib.Path(p).read_text() for p in lists]
        + [options.seed, options.val_fraction, options.no_wheels, sorted(options.test_packages)]
    ).encode()).hexdigest()
    if not options.force and is_current(options.output, inputs_key):
        log.info("%s is up to date (use --force to gather again)", options.output)
        return 0
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
        log.error("no photos could be gathered")
        return 1
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
    return 0
