"""tools/compare_evals.py: two evaluations of the same real photos compared photo by photo."""
import csv
import pathlib

import pytest

from tests.conftest import run_tool
from colornet.evaluate import paired


@pytest.fixture(scope="module")
def two_evaluations(tmp_path_factory):
    """The default model on three real photos, vivid (T 0.38) and plain-mean (T 1.0), scored as
    tools/evaluate.py scores them."""
    import skimage
    data = pathlib.Path(skimage.__file__).parent / "data"
    photos = [data / name for name in ("astronaut.png", "coffee.png", "chelsea.png")]
    from colornet.colorize.models import Model
    from colornet.colorize.pipeline import Colorizer
    from colornet.evaluate.scoring import score_set
    root = tmp_path_factory.mktemp("paired")
    colorizer = Colorizer(Model.resolve("default"), "opencv")
    for name, temperature in (("vivid", 0.38), ("plain", 1.0)):
        score_set(photos, colorizer.with_settings(temperature=temperature), root / name, "three photos",
                  max_side=256, quiet=True)
    return root / "vivid", root / "plain", photos


def _column(folder, metric):
    with (folder / "per_photo.csv").open() as handle:
        return {row["photo"]: float(row[metric]) for row in csv.DictReader(handle)}


def test_the_paired_differences_are_the_per_photo_ones(two_evaluations, tmp_path):
    vivid, plain, photos = two_evaluations
    results = {r["metric"]: r for r in paired.compare(vivid, plain)}
    for metric in ("auc_model", "auc_rebalanced_model", "psnr_model"):
        a, b = _column(vivid, metric), _column(plain, metric)
        differences = [b[p] - a[p] for p in a]
        assert results[metric]["photos"] == 3
        assert results[metric]["difference"] == pytest.approx(sum(differences) / 3)
        assert results[metric]["share_b_ahead"] == pytest.approx(sum(d > 0 for d in differences) / 3)
        assert results[metric]["standard_error"] > 0
    assert all(r["difference"] != 0 for r in results.values())  # two decodings, two results
    result = run_tool("compare_evals", vivid, plain, "--names", "vivid", "plain", "-o", tmp_path / "paired.md")
    assert result.returncode == 0, result.stderr
    text = (tmp_path / "paired.md").read_text()
    assert "| AuC % |" in text and f"{results['auc_model']['difference']:+.2f}" in text


def test_a_model_against_itself_differs_by_nothing(two_evaluations):
    vivid, _, _ = two_evaluations
    for result in paired.compare(vivid, vivid):
        assert result["difference"] == 0 and result["standard_error"] == 0 and result["share_b_ahead"] == 0


def test_different_photos_or_a_missing_folder_are_refused_with_the_fix(two_evaluations, tmp_path):
    vivid, _, _ = two_evaluations
    fewer = tmp_path / "fewer"
    fewer.mkdir()
    lines = (vivid / "per_photo.csv").read_text().splitlines()
    (fewer / "per_photo.csv").write_text("\n".join(lines[:3]) + "\n")
    result = run_tool("compare_evals", vivid, fewer)
    assert result.returncode == 2 and "scored different photos (3 and 2" in result.stderr
    result = run_tool("compare_evals", vivid, tmp_path / "nowhere")
    assert result.returncode == 2 and "per_photo.csv: not found (score the model with tools/evaluate.py" in result.stderr
