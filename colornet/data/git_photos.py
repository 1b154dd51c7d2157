"""Photos pinned in public git repositories (data/sources/public-photos.txt): read at their pinned
commit from a local mirror (PHOTO_MIRROR) or from a bare clone of GitHub kept in the cache.

The list's format, one block per repository:

    ## owner/name <40-hex commit>
    <path in the repository> <sha256 of its bytes> [<ImageNet class index 0..999>]

A file whose bytes do not match its sha256 is skipped and counted (a mirror of another commit, a
damaged clone). The ImageNet class is what keeps a kind out of the default's photos: the dog
classes (DOG_CLASSES) are the fine-tuning benchmark's domain, never trained or chosen on.
"""
import dataclasses
import hashlib
import logging
import os
import pathlib
import re
import shutil
import subprocess

log = logging.getLogger("gather_photos")

MIRROR_ENV = "PHOTO_MIRROR"
GITHUB_URL = "https://github.com/{repo}.git"
# ImageNet's 118 dog classes: wnids n02085620 (Chihuahua) … n02113978 (Mexican hairless), which in
# the classes' sorted order are the indices 151–268.
DOG_CLASSES = range(151, 269)
DOG_WNIDS = ("n02085620", "n02113978")
_COMMIT = re.compile(r"^[0-9a-f]{40}$")


class GitSourceError(RuntimeError):
    """A pinned repository cannot be reached at its commit."""


@dataclasses.dataclass
class PinnedFile:
    path: str
    sha256: str
    imagenet_class: int = None


@dataclasses.dataclass
class PinnedRepo:
    repo: str            # owner/name
    commit: str
    files: list


def parse_pins(path):
    """data/sources/public-photos.txt → [PinnedRepo]; a malformed line raises ValueError naming it."""
    repos = []
    for number, line in enumerate(pathlib.Path(path).read_text().splitlines(), 1):
        fields = line.split()
        if not fields or line.startswith("# ") or line == "#":
            continue
        where = f"{path}:{number}"
        if fields[0] == "##":
            if len(fields) != 3 or "/" not in fields[1] or not _COMMIT.match(fields[2]):
                raise ValueError(f"{where}: expected '## owner/name <40-hex commit>', got {line!r}")
            repos.append(PinnedRepo(fields[1], fields[2], []))
            continue
        if not repos:
            raise ValueError(f"{where}: a file before any '## owner/name commit' header")
        if len(fields) not in (2, 3) or not re.fullmatch(r"[0-9a-f]{64}", fields[1]):
            raise ValueError(f"{where}: expected '<path> <sha256> [class]', got {line!r}")
        label = int(fields[2]) if len(fields) == 3 else None
        repos[-1].files.append(PinnedFile(fields[0], fields[1], label))
    return repos


def is_dog(pinned):
    return pinned.imagenet_class is not None and pinned.imagenet_class in DOG_CLASSES


def mirror_git_dir(mirror, repo):
    """The git directory of ``repo`` in a mirror folder: DIR/owner+name (a clone or a bare
    snapshot), or its repo/ subfolder (the layout the search tool's fetch leaves); None if absent."""
    base = pathlib.Path(mirror) / repo.replace("/", "+")
    for candidate in (base, base / "repo"):
        if (candidate / ".git").is_dir():
            return candidate / ".git"
        if (candidate / "objects").is_dir() and (candidate / "HEAD").is_file():
            return candidate
    return None


def _git(git_dir, *args, **kwargs):
    return subprocess.run(["git", f"--git-dir={git_dir}", *args], capture_output=True, **kwargs)


def head_commit(git_dir):
    """The commit a clone or snapshot's HEAD names."""
    return _git(git_dir, "rev-parse", "HEAD", text=True).stdout.strip()


def has_commit(git_dir, commit):
    return _git(git_dir, "cat-file", "-e", f"{commit}^{{commit}}").returncode == 0


def repo_git_dir(repo, commit, cache, mirror=None):
    """A git directory holding ``commit`` of ``repo``: the mirror's, else a bare clone from GitHub
    cached under cache/git/ (fetched once; later runs read it offline)."""
    mirror = mirror if mirror is not None else os.environ.get(MIRROR_ENV)
    if mirror:
        git_dir = mirror_git_dir(mirror, repo)
        if git_dir is None:
            raise GitSourceError(f"{repo}: not in the mirror {mirror} (expected "
                                 f"{repo.replace('/', '+')} there, a clone or a bare snapshot)")
        if not has_commit(git_dir, commit):
            raise GitSourceError(f"{repo}: the mirror's copy {git_dir} lacks commit {commit}")
        return git_dir
    git_dir = pathlib.Path(cache) / "git" / (repo.replace("/", "+") + ".git")
    if git_dir.is_dir() and has_commit(git_dir, commit):
        return git_dir
    partial = git_dir.with_name(git_dir.name + ".partial")
    shutil.rmtree(partial, ignore_errors=True)
    log.info("cloning %s from GitHub (once; set %s=DIR to read a local mirror instead)", repo, MIRROR_ENV)
    result = subprocess.run(["git", "clone", "--bare", "--quiet", GITHUB_URL.format(repo=repo), str(partial)],
                            capture_output=True, text=True)
    if result.returncode != 0 or not has_commit(partial, commit):
        shutil.rmtree(partial, ignore_errors=True)
        reason = (result.stderr.strip().splitlines() or [f"commit {commit} not found"])[-1]
        raise GitSourceError(f"{repo}: cannot clone from GitHub ({reason}); with no internet, "
                             f"set {MIRROR_ENV} to a folder of clones named like owner+name")
    shutil.rmtree(git_dir, ignore_errors=True)
    partial.rename(git_dir)
    return git_dir


def read_blobs(git_dir, commit, paths):
    """{path: bytes} of the files at ``commit``, through one `git cat-file --batch`; a path absent
    at that commit is left out."""
    request = "".join(f"{commit}:{path}\n" for path in paths).encode()
    result = _git(git_dir, "cat-file", "--batch", input=request)
    if result.returncode != 0:
        raise GitSourceError(f"{git_dir}: git cat-file failed: {result.stderr.decode().strip()}")
    blobs, output, position = {}, result.stdout, 0
    for path in paths:
        end = output.index(b"\n", position)
        header = output[position:end].split()
        position = end + 1
        if header[-1] == b"missing":
            continue
        size = int(header[2])
        blobs[path] = output[position:position + size]
        position += size + 1
    return blobs


def pinned_files(pins, cache, failures, mirror=None):
    """Yield (PinnedRepo, PinnedFile, bytes) for every pinned file that arrives whole; what does not
    is logged and appended to ``failures``."""
    for pinned_repo in pins:
        try:
            git_dir = repo_git_dir(pinned_repo.repo, pinned_repo.commit, cache, mirror)
            blobs = read_blobs(git_dir, pinned_repo.commit, [f.path for f in pinned_repo.files])
        except GitSourceError as err:
            log.error("%s; skipping its photos", err)
            failures.append(str(err))
            continue
        for pinned in pinned_repo.files:
            payload = blobs.get(pinned.path)
            if payload is None:
                problem = f"{pinned_repo.repo}: {pinned.path} is not in commit {pinned_repo.commit[:12]}"
            elif hashlib.sha256(payload).hexdigest() != pinned.sha256:
                problem = f"{pinned_repo.repo}: {pinned.path} does not match its sha256"
            else:
                yield pinned_repo, pinned, payload
                continue
            log.warning("%s; skipped", problem)
            failures.append(problem)


# What tools/pin_public_photos.py pins: repository → (folder prefixes of the photos, how each
# photo's ImageNet class is known: "wnid" from its file name's leading wnid, whose rank among the
# 1,000 sorted wnids is the class index; a labels file "path, index" per line; or None).
PUBLIC_SETS = {
    "EliSchwartz/imagenet-sample-images": ([""], "wnid"),
    "VeriSilicon/acuity-dataset": (["ILSVRC2012_VAL_SET/data/"], "ILSVRC2012_VAL_SET/dataset.txt"),
    "BIDS/BSDS500": (["BSDS500/data/images/train/", "BSDS500/data/images/val/",
                      "BSDS500/data/images/test/"], None),
}
PHOTO_SUFFIXES = (".jpg", ".jpeg", ".png")


def list_files(git_dir, commit):
    result = _git(git_dir, "ls-tree", "-r", "-z", "--name-only", commit)
    if result.returncode != 0:
        raise GitSourceError(f"{git_dir}: cannot list commit {commit}")
    return [name for name in result.stdout.decode().split("\0") if name]


def imagenet_classes(git_dir, commit, paths, labels):
    """{path: class index} for the photos of one repository (see PUBLIC_SETS)."""
    if labels is None:
        return {}
    if labels == "wnid":
        wnids = {path: pathlib.PurePosixPath(path).name.split("_")[0] for path in paths}
        ranked = {wnid: index for index, wnid in enumerate(sorted(set(wnids.values())))}
        if len(ranked) != 1000:
            raise GitSourceError(f"{git_dir}: expected one photo for each of 1,000 wnids, found {len(ranked)}")
        return {path: ranked[wnid] for path, wnid in wnids.items()}
    folder = str(pathlib.PurePosixPath(labels).parent)
    text = read_blobs(git_dir, commit, [labels])[labels].decode()
    classes = {}
    for line in text.splitlines():
        if line.strip():
            name, index = (part.strip() for part in line.split(","))
            classes[str(pathlib.PurePosixPath(folder) / pathlib.PurePosixPath(name))] = int(index)
    return {path: classes[path] for path in paths if path in classes}


def pin_lines(repo, git_dir, commit):
    """The public-photos.txt block of one repository at ``commit``."""
    prefixes, labels = PUBLIC_SETS[repo]
    paths = sorted(path for path in list_files(git_dir, commit)
                   if any(path.startswith(prefix) and "/" not in path[len(prefix):] for prefix in prefixes)
                   and path.lower().endswith(PHOTO_SUFFIXES))
    classes = imagenet_classes(git_dir, commit, paths, labels)
    blobs = read_blobs(git_dir, commit, paths)
    lines = [f"## {repo} {commit}"]
    for path in paths:
        label = classes.get(path)
        lines.append(f"{path} {hashlib.sha256(blobs[path]).hexdigest()}" + ("" if label is None else f" {label}"))
    return lines
