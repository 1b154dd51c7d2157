"""tools/plot_sweeps.py: decoding sweeps of models drawn on one plane, their frontiers found."""
import json

import pytest

from tests.conftest import REPO_ROOT, run_tool
from colornet.evaluate import sweep_plot

YUV64 = REPO_ROOT / "docs/training/squeeze/decode_sweep_head_2000_val/decode_sweep.json"
LAB313 = REPO_ROOT / "docs/training/squeeze_lab/decode_sweep_2000_val/decode_sweep.json"


def test_the_frontier_is_the_settings_nothing_beats_on_both():
    pairs = [(88.0, 62.0), (89.0, 61.0), (88.5, 60.0), (87.0, 61.5), (89.0, 60.5), (88.0, 62.0)]
    assert sweep_plot.frontier(pairs) == [(88.0, 62.0), (89.0, 61.0)]


def test_the_committed_sweeps_frontiers_hold_the_chosen_decodings():
    for path in (YUV64, LAB313):
        pairs, grey = sweep_plot.points(path)
        front = sweep_plot.frontier(pairs)
        best_above_grey = max((p for p in pairs if p[0] >= grey[0]), key=lambda p: p[1])
        assert best_above_grey in front and len(front) < len(pairs)


def test_the_picture_is_drawn_and_mismatched_or_foreign_files_refused(tmp_path):
    result = run_tool("plot_sweeps", f"yuv64={YUV64}", f"lab313={LAB313}", "--target", "1", "4",
                      "-o", tmp_path / "sweeps.png")
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "sweeps.png").read_bytes()[:4] == b"\x89PNG"
    other = json.loads(YUV64.read_text())
    other[0]["summary"]["grey"]["auc"] += 1.0  # as if scored on other photos
    (tmp_path / "other.json").write_text(json.dumps(other))
    result = run_tool("plot_sweeps", f"a={YUV64}", f"b={tmp_path / 'other.json'}", "-o", tmp_path / "x.png")
    assert result.returncode == 2 and "scored on different photos" in result.stderr
    (tmp_path / "summary.json").write_text("{}")
    result = run_tool("plot_sweeps", f"a={tmp_path / 'summary.json'}", "-o", tmp_path / "y.png")
    assert result.returncode == 2 and "not a decode_sweep.json written by tools/tune_decode.py" in result.stderr
    result = run_tool("plot_sweeps", str(YUV64))
    assert result.returncode == 2 and "LABEL=PATH" in result.stderr
    assert not (tmp_path / "x.png").exists() and not (tmp_path / "y.png").exists()


@pytest.mark.parametrize("pairs", [[(1.0, 1.0)], [(1.0, 2.0), (2.0, 1.0)]])
def test_a_frontier_of_incomparable_settings_keeps_them_all(pairs):
    assert sweep_plot.frontier(pairs) == sorted(pairs)
