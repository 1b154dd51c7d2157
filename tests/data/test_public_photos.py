"""make photos' public sets: read from git at a pinned commit out of a mirror the test builds,
each file checked by sha256, greys and unreadable files skipped and counted, ImageNet's dogs kept
out of train, val and test."""
import hashlib
import json
import pathlib
import subprocess

import cv2
import pytest
import skimage

from colornet.data import gather, git_photos

SKIMAGE = pathlib.Path(skimage.__file__).parent / "data"
COLOUR = ["astronaut.png", "chelsea.png", "coffee.png", "rocket.jpg"]


def _git(folder, *args):
    return subprocess.run(["git", "-C", str(folder), *args], check=True, capture_output=True, text=True).stdout


def _mirror(tmp_path):
    """A mirror with one repository, owner/photos: four colour photos (one an ImageNet dog by its
    label), a grey photo, a file that is not an image and one whose bytes will not match."""
    repo = tmp_path / "mirror" / "owner+photos"
    (repo / "images").mkdir(parents=True)
    for name in COLOUR:
        (repo / "images" / name).write_bytes((SKIMAGE / name).read_bytes())
    grey = cv2.cvtColor(cv2.imread(str(SKIMAGE / "chelsea.png")), cv2.COLOR_BGR2GRAY)
    cv2.imwrite(str(repo / "images" / "grey.png"), cv2.merge([grey] * 3))
    (repo / "images" / "broken.jpg").write_bytes(b"\xff\xd8 not a jpeg")
    (repo / "images" / "changed.png").write_bytes((SKIMAGE / "coffee.png").read_bytes()[:-1] + b"\0")
    _git(repo, "init", "-q")
    _git(repo, "add", ".")
    _git(repo, "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "photos")
    commit = _git(repo, "rev-parse", "HEAD").strip()
    lines = [f"## owner/photos {commit}"]
    labels = {"astronaut.png": 3, "chelsea.png": 200, "coffee.png": 268, "rocket.jpg": 269}
    for path in sorted((repo / "images").iterdir()):
        digest = hashlib.sha256(path.read_bytes()).hexdigest()
        if path.name == "changed.png":
            digest = hashlib.sha256(b"the pinned bytes").hexdigest()
        label = labels.get(path.name)
        lines.append(f"images/{path.name} {digest}" + (f" {label}" if label is not None else ""))
    lines.append(f"images/not-there.jpg {'0' * 64}")
    pins = tmp_path / "pins.txt"
    pins.write_text("# test pins\n" + "\n".join(lines) + "\n")
    return tmp_path / "mirror", pins


def _options(output, pins, mirror):
    return gather.GatherOptions(output=output, gcompris_list=None, extended_list=[], public_list=pins,
                                mirror=str(mirror), no_wheels=True, force=True)


def test_pinned_photos_from_a_mirror_skip_greys_and_keep_dogs_apart(tmp_path, caplog):
    mirror, pins = _mirror(tmp_path)
    output = tmp_path / "photos"
    assert gather.gather(_options(output, pins, mirror))["dogs"] == 2
    rows = {row["file"]: row for row in gather.read_manifest(output)}
    # Classes 151–268 are dogs: chelsea (200) and coffee (268) are set aside, rocket (269) is not.
    assert {name: row["split"] for name, row in rows.items()} == {
        "photos/images/astronaut.png": rows["photos/images/astronaut.png"]["split"],
        "photos/images/rocket.jpg": rows["photos/images/rocket.jpg"]["split"],
        "photos/images/chelsea.png": "dogs", "photos/images/coffee.png": "dogs"}
    assert rows["photos/images/astronaut.png"]["split"] in ("train", "val")
    assert (output / "dogs.txt").read_text().split() == ["photos/images/chelsea.png", "photos/images/coffee.png"]
    for split in ("train", "val", "test"):
        assert "chelsea" not in (output / f"{split}.txt").read_text()
    row = rows["photos/images/rocket.jpg"]
    assert row["source_package"] == "owner/photos" and row["source_path"] == "images/rocket.jpg"
    assert (output / row["file"]).read_bytes() == (SKIMAGE / "rocket.jpg").read_bytes()
    report = json.loads((output / "gather.json").read_text())
    assert report["greys_skipped"] == ["photos/images/grey.png"]
    problems = " | ".join(report["failures"])
    assert "broken.jpg" in problems and "changed.png does not match its sha256" in problems
    assert "not-there.jpg is not in commit" in problems and len(report["failures"]) == 3


def test_a_mirror_without_the_repository_or_commit_is_one_clear_error(tmp_path):
    mirror, pins = _mirror(tmp_path)
    with pytest.raises(git_photos.GitSourceError, match="not in the mirror"):
        git_photos.repo_git_dir("owner/other", "0" * 40, tmp_path, str(mirror))
    with pytest.raises(git_photos.GitSourceError, match="lacks commit"):
        git_photos.repo_git_dir("owner/photos", "1" * 40, tmp_path, str(mirror))
    # A bare snapshot in a repo/ subfolder (the fetch tool's layout) is found too.
    bare = tmp_path / "bare"
    subprocess.run(["git", "clone", "-q", "--bare", str(mirror / "owner+photos"), str(bare / "owner+photos" / "repo")],
                   check=True)
    assert git_photos.mirror_git_dir(bare, "owner/photos") == bare / "owner+photos" / "repo"


def test_pin_list_errors_name_the_line(tmp_path):
    pins = tmp_path / "pins.txt"
    pins.write_text("## owner/photos abc\n")
    with pytest.raises(ValueError, match="pins.txt:1"):
        git_photos.parse_pins(pins)
    pins.write_text(f"## owner/photos {'a' * 40}\nphoto.jpg nothex\n")
    with pytest.raises(ValueError, match="pins.txt:2"):
        git_photos.parse_pins(pins)


def test_the_shipped_pins_keep_every_dog_class_out():
    pins = git_photos.parse_pins(pathlib.Path(__file__).resolve().parents[2] / "data/sources/public-photos.txt")
    files = [f for repo in pins for f in repo.files]
    assert len(files) == 2800
    dogs = [f for f in files if git_photos.is_dog(f)]
    # 118 dog classes in the one-per-class samples, and the validation photos' dogs.
    assert len([f for f in dogs if f.path.startswith("n0")]) == 118
    assert all(git_photos.DOG_WNIDS[0] <= f.path[:9] <= git_photos.DOG_WNIDS[1]
               for f in dogs if f.path.startswith("n0"))
    assert 250 <= len(dogs) <= 270


def test_the_pinning_tool_writes_what_the_gatherer_reads(tmp_path, monkeypatch):
    mirror, _ = _mirror(tmp_path)
    git_dir = git_photos.mirror_git_dir(mirror, "owner/photos")
    monkeypatch.setitem(git_photos.PUBLIC_SETS, "owner/photos", (["images/"], None))
    commit = git_photos.head_commit(git_dir)
    pins = tmp_path / "written.txt"
    pins.write_text("\n".join(git_photos.pin_lines("owner/photos", git_dir, commit)) + "\n")
    [repo] = git_photos.parse_pins(pins)
    assert (repo.repo, repo.commit) == ("owner/photos", commit)
    # Every photo-named file of the folder, with the sha256 of its bytes at that commit.
    assert [f.path for f in repo.files] == sorted(f"images/{p.name}" for p in (mirror / "owner+photos" / "images").iterdir())
    blobs = git_photos.read_blobs(git_dir, commit, [f.path for f in repo.files])
    assert all(hashlib.sha256(blobs[f.path]).hexdigest() == f.sha256 for f in repo.files)
