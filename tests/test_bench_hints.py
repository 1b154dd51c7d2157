"""bench/bench_hints.py's choice of val photos: spread over the list's sources on request (the
split lists come in blocks by source: val.txt's first 20 are all BSDS500, which chose a hint
method that then lost on test)."""
import importlib.util
import pathlib
import shutil

from tests.conftest import REPO_ROOT, run_tool

SKIMAGE_DATA = pathlib.Path(__import__("skimage").__file__).parent / "data"


def _bench():
    spec = importlib.util.spec_from_file_location("bench_hints", REPO_ROOT / "bench/bench_hints.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_spread_val_photos_come_from_every_source_the_first_ones_from_one(tmp_path):
    lines = []
    for source, count in (("alpha", 20), ("beta", 6), ("gamma", 6), ("delta", 8)):
        (tmp_path / source).mkdir()
        for number in range(count):
            shutil.copy(SKIMAGE_DATA / "coffee.png", tmp_path / source / f"{number}.png")
            lines.append(f"{source}/{number}.png")
    (tmp_path / "val.txt").write_text("\n".join(lines) + "\n")
    bench = _bench()
    listed = bench.photos_of("val", 0, folder=tmp_path)
    first, spread = bench.photos_of("val", 8, folder=tmp_path), bench.photos_of("val", 8, spread=True, folder=tmp_path)
    assert len(listed) == 40 and first == listed[:8] and {p.parent.name for p in first} == {"alpha"}
    assert len(set(spread)) == 8 and spread[0] == listed[0] and spread[-1] == listed[-1]
    assert {p.parent.name for p in spread} == {"alpha", "beta", "gamma", "delta"}
    assert bench.photos_of("val", 100, spread=True, folder=tmp_path) == listed


def test_help_names_the_spread():
    result = run_tool("bench/bench_hints.py", "--help")
    assert result.returncode == 0 and "--val-spread" in result.stdout
