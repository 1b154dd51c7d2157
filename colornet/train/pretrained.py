"""The pretrained SqueezeNet: fetch the packed file (a local mirror, else GitHub's raw URL at the
pinned commit, checked by sha256 and cached), decode it, and write models/squeezenet/:
squeezenet.caffemodel (the ImageNet classifier, BGR in), squeezenet_grey.caffemodel (the trunk
for one grey channel: what the colour nets start from) and the repository's LICENCE."""
import hashlib
import logging
import os
import pathlib
import urllib.request

from colornet.common import REPO_ROOT, atomic_output_dir, cache_dir
from colornet.data import git_photos
from colornet.nets import squeezenet

log = logging.getLogger("squeezenet")

REPO = "songhan/SqueezeNet-Deep-Compression"
COMMIT = "fb13faa2cf121ced9999f8a9d538ec6c56084733"
PACKED = "compressed_SqueezeNet.net"
LICENCE = "LICENCE"
RAW_URL = "https://raw.githubusercontent.com/{repo}/{commit}/{path}"
OUTPUT = REPO_ROOT / "models" / "squeezenet"
CLASSIFIER = "squeezenet.caffemodel"
GREY_TRUNK = "squeezenet_grey.caffemodel"


class PretrainedError(RuntimeError):
    """The packed SqueezeNet could not be had whole."""


def _download(path):
    url = RAW_URL.format(repo=REPO, commit=COMMIT, path=path)
    try:
        with urllib.request.urlopen(url, timeout=60) as answer:
            return answer.read()
    except OSError as err:
        raise PretrainedError(f"cannot download {url} ({err}); with no internet, set "
                              f"{git_photos.MIRROR_ENV} to a folder holding a clone named "
                              f"{REPO.replace('/', '+')}") from err


def packed_files(mirror=None):
    """(packed bytes, licence bytes), sha256-checked; cached under the download cache."""
    cached = cache_dir() / "squeezenet" / PACKED
    licence_cached = cached.with_name(LICENCE)
    if cached.is_file() and licence_cached.is_file() and \
            hashlib.sha256(cached.read_bytes()).hexdigest() == squeezenet.PACKED_SHA256:
        return cached.read_bytes(), licence_cached.read_bytes()
    mirror = mirror if mirror is not None else os.environ.get(git_photos.MIRROR_ENV)
    if mirror:
        git_dir = git_photos.mirror_git_dir(mirror, REPO)
        if git_dir is None:
            raise PretrainedError(f"{REPO}: not in the mirror {mirror}")
        blobs = git_photos.read_blobs(git_dir, COMMIT, [PACKED, LICENCE])
        if len(blobs) != 2:
            raise PretrainedError(f"{REPO}: the mirror's {git_dir} lacks {PACKED} or {LICENCE} at {COMMIT[:12]}")
        packed, licence = blobs[PACKED], blobs[LICENCE]
    else:
        packed, licence = _download(PACKED), _download(LICENCE)
    digest = hashlib.sha256(packed).hexdigest()
    if digest != squeezenet.PACKED_SHA256:
        raise PretrainedError(f"{PACKED}: sha256 {digest}, expected {squeezenet.PACKED_SHA256}")
    cached.parent.mkdir(parents=True, exist_ok=True)
    cached.write_bytes(packed)
    licence_cached.write_bytes(licence)
    return packed, licence


def install(output=OUTPUT, mirror=None, force=False):
    """Write the decoded classifier and grey trunk into ``output`` (whole or not at all)."""
    output = pathlib.Path(output)
    if not force and all((output / name).is_file() for name in (CLASSIFIER, GREY_TRUNK, LICENCE)):
        log.info("%s is there already (--force to decode again)", output)
        return output
    packed, licence = packed_files(mirror)
    layers = squeezenet.decode_packed(packed)
    with atomic_output_dir(output, force=True) as staging:
        squeezenet.write_caffemodel(layers, staging / CLASSIFIER)
        trunk = {name: blobs for name, blobs in squeezenet.grey_trunk(layers).items() if name != "conv10"}
        squeezenet.write_caffemodel(trunk, staging / GREY_TRUNK)
        (staging / LICENCE).write_bytes(licence)
        (staging / "SOURCE").write_text(
            f"{REPO} at {COMMIT}, {PACKED} (sha256 {squeezenet.PACKED_SHA256}), decoded by "
            f"colornet/nets/squeezenet.py. BSD licence: LICENCE beside this file.\n")
    log.info("decoded SqueezeNet v1.0 into %s (%s, %s)", output, CLASSIFIER, GREY_TRUNK)
    return output
