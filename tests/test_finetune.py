"""Fine-tuning on your own photos (colornet.train.finetune / tuning, tools/finetune.py): the held-out
split, the bad-input lines, and a tiny real run that exports a model the colorizer loads and that a
second run continues."""
import json
import pathlib

import cv2
import numpy as np
import pytest

from colornet.train import finetune, tuning
from colornet.train.finetune import FinetuneError, FinetuneOptions, split_photos
from tests.conftest import run_tool

SKIMAGE_DATA = pathlib.Path(__import__("skimage").__file__).parent / "data"
SOURCES = ["astronaut.png", "coffee.png", "chelsea.png", "rocket.jpg", "motorcycle_left.png"]


def own_photos(folder, count=24, grey=0, broken=0):
    """`count` small colour photos (crops of scikit-image's), plus grey and unreadable ones."""
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(3)
    for number in range(count):
        image = cv2.imread(str(SKIMAGE_DATA / SOURCES[number % len(SOURCES)]))
        height, width = image.shape[:2]
        top, left = rng.integers(0, height // 3), rng.integers(0, width // 3)
        crop = image[top:top + 2 * height // 3, left:left + 2 * width // 3]
        cv2.imwrite(str(folder / f"own{number:02d}.jpg"), cv2.resize(crop, (192, 144), interpolation=cv2.INTER_AREA))
    for number in range(grey):
        grey_image = cv2.cvtColor(cv2.imread(str(SKIMAGE_DATA / "coffee.png")), cv2.COLOR_BGR2GRAY)
        cv2.imwrite(str(folder / f"grey{number}.png"), grey_image)
    for number in range(broken):
        (folder / f"broken{number}.jpg").write_bytes(b"\xff\xd8\xff\xe0 truncated")
    return folder


def test_the_held_out_split_is_seeded_stable_and_disjoint():
    photos = [pathlib.Path(f"/photos/p{i:03d}.jpg") for i in range(60)]
    train, held = split_photos(photos, 0.1, 5, seed=0)
    assert len(held) == 6 and not set(train) & set(held) and set(train) | set(held) == set(photos)
    assert split_photos(list(reversed(photos)), 0.1, 5, seed=0) == (train, held)  # the order given does not matter
    assert split_photos(photos, 0.1, 5, seed=1)[1] != held
    assert len(split_photos(photos[:20], 0.1, 5, seed=0)[1]) == 5  # at least 5


def test_bad_input_gets_one_clear_line(tmp_path):
    few = own_photos(tmp_path / "few", count=15, grey=2, broken=1)
    with pytest.raises(FinetuneError) as caught:
        finetune.prepare(FinetuneOptions([few], "mine", models_dir=tmp_path / "models"))
    message = str(caught.value)
    assert "15 usable colour photos (2 grey, 1 unreadable skipped); fine-tuning needs at least 20" in message
    assert "\n" not in message
    with pytest.raises(FinetuneError, match="models/default is a shipped model; choose another NAME"):
        finetune.check_name("default")
    with pytest.raises(FinetuneError, match="NAME 'my photos': use letters, digits"):
        finetune.check_name("my photos")
    (tmp_path / "models" / "other").mkdir(parents=True)
    (tmp_path / "models" / "other" / "model.json").write_text('{"family": "yuv64"}')
    with pytest.raises(FinetuneError, match="models/other exists and was not made by fine-tuning"):
        finetune.check_name("other", tmp_path / "models")


def test_not_enough_disk_is_refused_before_any_work(tmp_path, monkeypatch):
    import collections
    usage = collections.namedtuple("usage", "total used free")
    monkeypatch.setattr(finetune.shutil, "disk_usage", lambda path: usage(10 ** 9, 10 ** 9, 5 * 2 ** 20))
    with pytest.raises(FinetuneError, match=r"5 MB free, fine-tuning on 100 photos needs about \d+ MB"):
        finetune.check_disk(tmp_path, 100)


def test_the_command_line_says_what_is_missing(tmp_path):
    result = run_tool("finetune", own_photos(tmp_path / "few", count=3), "--name", "mine")
    errors = [line for line in result.stderr.splitlines() if "ERROR" in line]
    assert result.returncode == 2 and len(errors) == 1 and "fine-tuning needs at least 20" in errors[0]


@pytest.mark.slow  # a real (tiny) training run, twice
def test_a_tiny_run_exports_a_model_that_loads_and_a_second_run_continues(tmp_path):
    photos = own_photos(tmp_path / "own", count=22, grey=1, broken=1)
    models = tmp_path / "models"
    options = FinetuneOptions([photos], "mine", minutes=5, iterations=2, models_dir=models, quiet=True)
    card, table, sheet = tuning.run(options)
    assert card["training"]["iterations_total"] == 2 and card["finetuned_from"] == "default"
    assert card["photos"] == {"train": 17, "held_out": 5, "skipped_grey": 1, "skipped_unreadable": 1}
    assert card["temperature"] in tuning.TEMPERATURES and card["undo_of_rebalancing"] in tuning.UNDO_STRENGTHS
    assert (card["class_scale"] is None) == (card["undo_of_rebalancing"] == 0)
    from colornet.colorize.models import Model
    assert Model.resolve(str(models / "mine")).class_scale == card["class_scale"]  # what the colorizer decodes with
    # The shipped card's dark-pixel fade carries over: it was chosen with it and is scored with it.
    assert Model.resolve(str(models / "mine")).dark_limit == Model.resolve("default").dark_limit == 128
    assert "| fine-tuned |" in table and sheet.is_file()
    held_out = (models / "mine" / "held_out.txt").read_text().split()
    split = json.loads((options.work / "split.json").read_text())
    assert held_out == split["holdout"] and not set(held_out) & set(split["train"])
    # The records: each training photo whole at the default's three scales (no held-out photo).
    from colornet.train.finetune import SCALES
    records = json.loads((options.work / "train_lmdb" / "colornet.json").read_text())
    assert records["scales"] == list(SCALES) and records["inputs"] == split["train"]
    import lmdb
    with lmdb.open(str(options.work / "train_lmdb"), readonly=True, lock=False) as env:
        assert env.stat()["entries"] == len(SCALES) * 17
    # The colorizer loads it by folder (by name under models/ for a real one) and colours with it.
    grey = tmp_path / "grey.png"
    cv2.imwrite(str(grey), cv2.cvtColor(cv2.imread(str(SKIMAGE_DATA / "coffee.png")), cv2.COLOR_BGR2GRAY))
    result = run_tool("use_trained_model", grey, "--model", models / "mine", "-o", tmp_path / "out", "-q")
    assert result.returncode == 0 and (tmp_path / "out" / "grey.png").is_file(), result.stderr
    # Interrupted after some training (here: trained, never exported): the same command goes on
    # from there, with the same held-out photos, and replaces the model only when done.
    tuning.train(options.work, models / "mine" / "weights.caffemodel", 5, iterations=1, quiet=True)
    card, _, _ = tuning.run(options)
    assert card["training"]["iterations_total"] == 5 and card["training"]["iterations_this_run"] == 2
    assert json.loads((options.work / "split.json").read_text())["holdout"] == split["holdout"]


def test_only_the_top_of_the_net_learns_and_the_batch_statistics_stay_the_shipped_ones():
    from caffe.proto import caffe_pb2
    from google.protobuf import text_format
    from colornet.train import tuning
    net = caffe_pb2.NetParameter()
    text_format.Merge(tuning.fine_tuning_net(tuning.BASE_TRAIN_NET.read_text(), "/somewhere/train_lmdb"), net)
    assert [layer.data_param.source for layer in net.layer
            if layer.type == "Data" and layer.include[0].phase == caffe_pb2.TRAIN] == ["/somewhere/train_lmdb"]
    learning = {layer.name: all(param.lr_mult != 0 for param in layer.param) for layer in net.layer
                if layer.type in ("Convolution", "Deconvolution")}
    names = list(learning)
    top = names.index(tuning.TRAIN_FROM)
    assert not any(learning[name] for name in names[:top]) and all(learning[name] for name in names[top:])
    assert top > len(names) // 2  # the features stay; the colour-naming top learns
    assert all(layer.batch_norm_param.use_global_stats for layer in net.layer if layer.type == "BatchNorm")
