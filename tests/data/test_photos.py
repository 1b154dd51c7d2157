"""make photos: the gatherer's manifest, split, duplicate detection and failure handling."""
import csv
import hashlib
import json

import cv2
import numpy as np
import pytest

from colornet.data import gather as gather_photos
from colornet.data.collect import Photo, expand_braces, parse_package_list
from colornet.data.curate import describe, drop_near_duplicates
from colornet.data.gather import assign_split


def _gather(tmp_path, output, extended_text, test_packages=()):
    gcompris = tmp_path / "gcompris.txt"
    gcompris.write_text(
        "# a few of the listed photos\n"
        "clickgame/gcompris/src/activities/clickgame/resource/sea1.webp 1440x1080\n"
        "erase/gcompris/src/activities/erase/resource/alpaca.webp 1920x1080\n"
        "erase/gcompris/src/activities/erase/resource/no-such-photo.webp 1x1\n")
    extended = tmp_path / "more.txt"
    extended.write_text(extended_text)
    return gather_photos.gather(gather_photos.GatherOptions(output, gcompris, [extended], list(test_packages),
                                                            public_list=None, force=True))


EXTENDED = """## colornet-no-such-package 1.0-1 (2)
usr/share/nothing/a.jpg
## libjs-jquery-colorbox 1.6.4-1.1 (3; marylou/ohoopee2 are near-greyscale)
usr/share/doc/libjs-jquery-colorbox/examples/content/daisy@2x.jpg
usr/share/doc/libjs-jquery-colorbox/examples/content/ohoopee1.jpg
usr/share/doc/libjs-jquery-colorbox/examples/content/ohoopee3.jpg
"""


@pytest.mark.slow  # downloads and unpacks Debian packages
def test_gather_manifest_split_and_missing_package(tmp_path, caplog):
    output = tmp_path / "photos"
    assert sum(_gather(tmp_path, output, EXTENDED).values()) > 0
    rows = list(csv.DictReader(open(output / "manifest.csv")))
    packages = {row["source_package"] for row in rows}
    assert {"gcompris-qt-data", "scikit-image", "scikit-learn", "libjs-jquery-colorbox"} <= packages
    assert "colornet-no-such-package" not in packages
    assert len(rows) == 2 + 8 + 3
    for row in rows:
        payload = (output / row["file"]).read_bytes()
        assert hashlib.sha256(payload).hexdigest() == row["sha256"] and len(payload) == int(row["bytes"])
        assert int(row["width"]) > 0 and row["source_version"]
    train = set((output / "train.txt").read_text().split("\n")) - {""}
    val = set((output / "val.txt").read_text().split("\n")) - {""}
    assert not train & val and train | val == {row["file"] for row in rows}
    sidecar = json.loads((output / "gather.json").read_text())
    assert any("colornet-no-such-package" in failure for failure in sidecar["failures"])
    assert any("no-such-photo.webp" in failure for failure in sidecar["failures"])
    assert "colornet-no-such-package" in caplog.text

    again = tmp_path / "again"
    assert sum(_gather(tmp_path, again, EXTENDED).values()) > 0
    assert (again / "manifest.csv").read_text() == (output / "manifest.csv").read_text()
    assert (again / "val.txt").read_text() == (output / "val.txt").read_text()


def test_split_is_seeded_stable_and_about_ten_percent():
    names = [f"pkg/photo{i}.jpg" for i in range(2000)]
    splits = [assign_split(n, 0, 0.1) for n in names]
    assert splits == [assign_split(n, 0, 0.1) for n in names]
    assert 0.08 < splits.count("val") / len(names) < 0.12
    assert splits != [assign_split(n, 1, 0.1) for n in names]


def _photo(name, image):
    photo = Photo(name, "pkg", "1", name, cv2.imencode(".png", image)[1].tobytes())
    describe(photo)
    return photo


def test_near_duplicates_are_kept_once_the_largest():
    rng = np.random.default_rng(3)
    big = cv2.resize(rng.integers(0, 256, (6, 8, 3), dtype=np.uint8), (160, 120), interpolation=cv2.INTER_CUBIC)
    small = cv2.resize(big, (80, 60), interpolation=cv2.INTER_AREA)
    other = cv2.resize(rng.integers(0, 256, (6, 8, 3), dtype=np.uint8), (160, 120), interpolation=cv2.INTER_CUBIC)
    kept, dropped = drop_near_duplicates([_photo("a_small.png", small), _photo("b_big.png", big),
                                          _photo("c_other.png", other)])
    assert [p.file for p in kept] == ["b_big.png", "c_other.png"]
    assert dropped == [("a_small.png", "b_big.png")]


def test_package_list_parsing_handles_spaces_notes_and_braces(tmp_path):
    listing = tmp_path / "list.txt"
    listing.write_text("# comment\n## pkg 1:2.0-1 (3; notes)\nusr/a/bg cave.jpg\n"
                       "usr/b/*/*.jpg   (55 face crops, 150x150)\nusr/c/{x,y}.jpg\n")
    assert parse_package_list(listing) == [("pkg", "1:2.0-1", ["usr/a/bg cave.jpg", "usr/b/*/*.jpg",
                                                              "usr/c/x.jpg", "usr/c/y.jpg"])]
    assert expand_braces("a{1,2}b{x,y}") == ["a1bx", "a1by", "a2bx", "a2by"]


@pytest.mark.slow  # downloads and unpacks Debian packages
def test_held_out_packages_go_whole_to_the_test_split_and_stay_there(tmp_path):
    output = tmp_path / "photos"
    assert sum(_gather(tmp_path, output, EXTENDED, ["libjs-jquery-colorbox"]).values()) > 0
    rows = list(csv.DictReader(open(output / "manifest.csv")))
    splits = {name: set((output / f"{name}.txt").read_text().split()) for name in ("train", "val", "test")}
    assert splits["test"] == {r["file"] for r in rows if r["source_package"] == "libjs-jquery-colorbox"}
    assert len(splits["test"]) == 3
    assert not (splits["train"] & splits["val"] or splits["train"] & splits["test"] or splits["val"] & splits["test"])
    assert set().union(*splits.values()) == {r["file"] for r in rows}
    assert json.loads((output / "gather.json").read_text())["test"] == 3
    again = tmp_path / "again"
    assert sum(_gather(tmp_path, again, EXTENDED, ["libjs-jquery-colorbox"]).values()) > 0
    for name in ("train", "val", "test"):
        assert (again / f"{name}.txt").read_text() == (output / f"{name}.txt").read_text()


def test_split_keeps_train_and_val_as_they_were_when_test_packages_are_held_out():
    names = [(f"pkg{i % 7}/photo{i}.jpg", f"pkg{i % 7}") for i in range(700)]
    before = [assign_split(n, 0, 0.1) for n, _ in names]
    after = [assign_split(n, 0, 0.1, package, ("pkg3",)) for n, package in names]
    assert all(a == ("test" if p == "pkg3" else b) for (_, p), a, b in zip(names, after, before))


def test_a_transparent_sky_is_cut_away_and_a_cut_out_is_refused():
    from colornet.data.curate import opaque_band
    from colornet.photo_io import UnreadableImage
    import pytest
    panorama = np.zeros((400, 300, 4), np.uint8)
    panorama[..., :3] = 90
    panorama[150:, :, 3] = 255          # sky transparent above row 150
    panorama[140:150, :, 3] = 128       # a soft horizon
    band = cv2.imdecode(np.frombuffer(opaque_band(cv2.imencode(".png", panorama)[1].tobytes(), "p"), np.uint8),
                        cv2.IMREAD_UNCHANGED)
    assert band.shape == (250, 300, 3)
    cut_out = panorama.copy()
    cut_out[:, :100, 3] = 0
    with pytest.raises(UnreadableImage, match="cut-out"):
        opaque_band(cv2.imencode(".png", cut_out)[1].tobytes(), "cut_out.png")
    opaque = cv2.imencode(".png", panorama[..., :3])[1].tobytes()
    assert opaque_band(opaque, "o") is opaque
