"""Collect the photos of every source as Photo records (bytes and where they came from): the
photographs in Debian's gcompris-qt-data (read out of its Qt .rcc archives), in the wheels of
scikit-image and scikit-learn, in the Debian packages the extended lists name, and the public sets
pinned in git (colornet/data/git_photos.py). gather.py curates and splits them.

Debian packages are downloaded with the ordinary apt client (download only, no install) and
unpacked into the cache (colornet.common.cache_dir). A package that cannot be fetched is reported
and skipped.
"""
import dataclasses
import glob
import logging
import os
import pathlib
import re
import shutil
import subprocess

import numpy as np

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
