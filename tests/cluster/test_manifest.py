"""The archive's manifest.csv: appended to as results arrive (a crash loses nothing), rewritten at
the end with one row per input, the latest outcome; a rerun starts from what it says."""
import csv

from colornet.cluster.archive import Manifest


def rows(path):
    with open(path, newline="") as handle:
        return list(csv.DictReader(handle))


def test_the_manifest_keeps_one_row_per_input_the_latest_outcome(tmp_path):
    first = Manifest(tmp_path)
    first.add("in/a.jpg", "out/a.png", "done", by="m:1")
    first.add("in/b.jpg", "out/b.png", "failed", "not an image", by="m:1")
    first.add("in/b.jpg", "out/b.png", "lost", by="m:2")     # the same input again, later
    # Before the end every outcome is on disk, appended as it came.
    assert [row["status"] for row in rows(tmp_path / "manifest.csv")] == ["done", "failed", "lost"]
    first.close()
    assert [(row["input"], row["status"]) for row in rows(tmp_path / "manifest.csv")] == [
        ("in/a.jpg", "done"), ("in/b.jpg", "lost")]
    # A rerun reads it, redoes b, and the file still holds each input once.
    second = Manifest(tmp_path)
    assert second.rows["in/b.jpg"]["status"] == "lost"
    second.add("in/b.jpg", "out/b.png", "done", by="m:3")
    second.close()
    final = rows(tmp_path / "manifest.csv")
    assert [(row["input"], row["status"], row["by"]) for row in final] == [
        ("in/a.jpg", "done", "m:1"), ("in/b.jpg", "done", "m:3")]
    assert not list(tmp_path.glob(".manifest.csv.partial"))
