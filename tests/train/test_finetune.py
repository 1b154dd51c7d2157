"""Fine-tuning on your own photos (colornet.train.finetune / tuning, tools/finetune.py): the held-out
split, the bad-input lines, and a tiny real run that exports a model the colorizer loads and that a
second run continues."""
import json
import pathlib

import cv2
import numpy as np
import pytest

from colornet.colorize.models import Model
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
    assert 5 <= len(held) <= 12 and not set(train) & set(held) and set(train) | set(held) == set(photos)
    assert split_photos(list(reversed(photos)), 0.1, 5, seed=0) == (train, held)  # the order given does not matter
    assert split_photos(photos, 0.1, 5, seed=1)[1] != held
    assert len(split_photos(photos[:20], 0.1, 5, seed=0)[1]) == 5  # at least 5


def test_adding_photos_never_moves_a_photo_between_training_and_held_out():
    """The user adds 1–20 photos to a folder of 60 and runs again (20 tries): every photo of the
    first split stays where it was, the new ones are split by their own rank (this moved
    held-out photos into training in 13 of 20 tries when the split was a count of the sorted
    order), and a fresh split of the grown folder agrees with the kept one."""
    import random
    photos = [pathlib.Path(f"/photos/p{i:03d}.jpg") for i in range(60)]
    train, held = split_photos(photos, 0.1, 5, seed=0)
    earlier = {"train": [str(p) for p in train], "holdout": [str(p) for p in held]}
    generator = random.Random(4)
    for attempt in range(20):
        added = [pathlib.Path(f"/photos/new{attempt}_{i}.jpg") for i in range(generator.randint(1, 20))]
        grown_train, grown_held = split_photos(photos + added, 0.1, 5, seed=0, earlier=earlier)
        assert set(held) <= set(grown_held) and set(train) <= set(grown_train)
        assert set(grown_train) | set(grown_held) == set(photos + added)
        # With enough photos the rank alone decides, so even without split.json nothing moves.
        assert split_photos(photos + added, 0.1, 5, seed=0) == (grown_train, grown_held)


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
    assert Model.resolve(str(models / "mine")).dark_limit == Model.resolve("default").dark_limit == 192
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
    recipe = finetune.recipe_for(Model.resolve(str(models / "mine")))  # the default's family
    tuning.train(options.work, models / "mine" / "weights.caffemodel", recipe, 5,
                 iterations=1, quiet=True)
    card, _, _ = tuning.run(options)
    assert card["training"]["iterations_total"] == 5 and card["training"]["iterations_this_run"] == 2
    assert json.loads((options.work / "split.json").read_text())["holdout"] == split["holdout"]
    assert (models / "mine" / "held_out_sheet.jpg").is_file() and (models / "mine" / "held_out.txt").is_file()
    # MINUTES: with no iteration cap, training stops when its wall-clock budget is spent.
    import time
    started = time.monotonic()
    first, last = tuning.train(options.work, models / "mine" / "weights.caffemodel",
                               recipe, 0.05, quiet=True)
    elapsed = time.monotonic() - started
    assert last > first + 1 and 3 <= elapsed < 60, (first, last, elapsed)


def test_make_finetune_passes_minutes_to_the_command():
    import subprocess
    from tests.conftest import REPO_ROOT
    commands = subprocess.run(["make", "-n", "finetune", "PHOTOS=own", "NAME=mine", "MINUTES=7"], cwd=REPO_ROOT,
                              capture_output=True, text=True, check=True).stdout
    assert "tools/finetune.py own --name mine --minutes 7" in commands


def _fine_tuning_layers(recipe):
    from caffe.proto import caffe_pb2
    from google.protobuf import text_format
    from colornet.train import tuning
    net = caffe_pb2.NetParameter()
    text_format.Merge(tuning.fine_tuning_net(recipe, "/somewhere/train_lmdb"), net)
    assert [layer.data_param.source for layer in net.layer
            if layer.type == "Data" and layer.include[0].phase == caffe_pb2.TRAIN] == ["/somewhere/train_lmdb"]
    learning = {layer.name: all(param.lr_mult != 0 for param in layer.param) for layer in net.layer
                if layer.type in ("Convolution", "Deconvolution")}
    return net, learning


def test_only_the_top_of_the_net_learns_and_the_batch_statistics_stay_the_shipped_ones():
    recipe = finetune.RECIPES["color_lite_deploy"]
    net, learning = _fine_tuning_layers(recipe)
    names = list(learning)
    top = names.index(recipe.train_from)
    assert not any(learning[name] for name in names[:top]) and all(learning[name] for name in names[top:])
    assert top > len(names) // 2  # the features stay; the colour-naming top learns
    assert all(layer.batch_norm_param.use_global_stats for layer in net.layer if layer.type == "BatchNorm")


def test_the_squeeze_family_fine_tunes_its_head_over_the_frozen_imagenet_trunk():
    from colornet.colorize.models import Model
    from colornet.nets import squeeze, squeezenet
    recipe = finetune.RECIPES["squeeze_deploy"]
    _, learning = _fine_tuning_layers(recipe)
    trunk = {name for name, _ in squeezenet.layer_shapes()} - {"conv10"}
    head = {f"{top}_reduce" for top in squeeze.HYPERCOLUMN} | {"head1", "head2", "scores"}
    assert {name for name, learns in learning.items() if learns} == head
    assert trunk <= set(learning)
    model = Model(recipe.deploy, recipe.deploy)  # the recipe is found from the deploy net alone
    assert finetune.recipe_for(model) is recipe
    assert finetune.recipe_for(Model(finetune.RECIPES["color_lite_deploy"].deploy, recipe.deploy)).prior == \
        "data/yuv64_prior_probs.npy"


def _summary(rebalanced, auc=80.0, psnr=20.0):
    return {"model": {"auc_rebalanced": rebalanced, "auc": auc, "psnr": psnr, "cf": 0.5},
            "grey": {"auc_rebalanced": 60.0, "auc": 79.0, "psnr": 19.0, "cf": 0.0}}


@pytest.mark.parametrize("scores, chosen", [
    # The best held-out candidate wins, wherever it is among the snapshots.
    ({"base": 62.0, "s100": 63.0, "s200": 66.0, "s300": 64.0}, "s200"),
    # Nothing beats the default's own weights: they are kept.
    ({"base": 65.0, "s100": 63.0, "s200": 61.0, "s300": 64.0}, "base"),
])
def test_the_choice_is_the_best_held_out_candidate_or_the_defaults_own_weights(monkeypatch, scores, chosen):
    weights = {name: pathlib.Path(f"/snap/{name}.caffemodel") for name in scores}

    def score_decodings(recipe, path, holdout, dark_limit=0):
        name = path.stem
        # Each candidate at two decodings; the second is a little worse.
        return [(0.38, 0.0, _summary(scores[name])), (0.5, 0.0, _summary(scores[name] - 1))]
    monkeypatch.setattr(tuning, "score_decodings", score_decodings)
    monkeypatch.setattr(tuning, "score_shipped", lambda model, holdout: _summary(scores["base"]))
    candidates = [(int(name[1:]), weights[name]) for name in ("s100", "s200", "s300")]
    recipe = finetune.RECIPES["color_lite_deploy"]
    best, base, eligible = tuning.choose(recipe, weights["base"], candidates, [])
    # A kept default is the default as shipped: its card's temperature, not one the held-out
    # photos would re-choose for it.
    shipped_temperature = Model.resolve("default").temperature
    assert best[1] == weights[chosen] and best[2] == (shipped_temperature if chosen == "base" else 0.38) and eligible
    # A candidate below grey on plain AuC is passed over, however high its rebalanced AuC.
    scores_below_grey = dict(scores, s300=90.0)
    monkeypatch.setattr(tuning, "score_decodings", lambda recipe, path, holdout, dark_limit=0: [
        (0.38, 0.0, _summary(scores_below_grey[path.stem], auc=70.0 if path.stem == "s300" else 80.0))])
    assert tuning.choose(recipe, weights["base"], candidates, [])[0][1] == weights[chosen]


def test_the_disk_check_comes_before_any_record_is_built(tmp_path, monkeypatch):
    import collections
    photos = own_photos(tmp_path / "own", count=22)
    usage = collections.namedtuple("usage", "total used free")
    monkeypatch.setattr(finetune.shutil, "disk_usage", lambda path: usage(10 ** 9, 10 ** 9, 2 ** 20))
    options = FinetuneOptions([photos], "mine", models_dir=tmp_path / "models", quiet=True)
    with pytest.raises(FinetuneError, match="1 MB free"):
        finetune.prepare(options)
    assert not (options.work / "train_lmdb").exists() and not (options.work / "split.json").exists()


def test_an_export_that_fails_half_way_leaves_the_old_model_whole(tmp_path, monkeypatch):
    from colornet.colorize.models import Model
    from colornet.train import export as export_module
    old = tmp_path / "models" / "mine"
    old.mkdir(parents=True)
    (old / "model.json").write_text('{"family": "yuv64", "finetuned_from": "default"}')
    (old / "weights.caffemodel").write_bytes(b"the old weights")
    before = {p.name: p.read_bytes() for p in old.iterdir()}
    default = Model.resolve("default")
    split = {"train": ["a.jpg"], "holdout": ["b.jpg"], "skipped_grey": 0, "skipped_unreadable": 0}
    best = ("iteration 10", default.weights, 0.38, 0.0, _summary(70.0))

    def fail_after_the_weights(runner, path):
        pathlib.Path(path).write_bytes(b"half")
        raise OSError("disk full")
    monkeypatch.setattr(export_module.CaffeRunner, "save", fail_after_the_weights)
    with pytest.raises(OSError, match="disk full"):
        tuning.export(finetune.recipe_for(default), tmp_path / "models", "mine", best, _summary(60.0), split,
                      (0, 10), 30, True)
    assert {p.name: p.read_bytes() for p in old.iterdir()} == before
    assert sorted(p.name for p in (tmp_path / "models").iterdir()) == ["mine"]


def test_a_recipe_learning_above_the_fixed_upsampling_declares_no_bias_it_lacks():
    # The bilinear Deconvolutions have no bias: a frozen one given a second param makes Caffe
    # abort the process ("Too many params specified for layer fire5_up").
    import dataclasses
    recipe = dataclasses.replace(finetune.RECIPES["squeeze_deploy"], train_from="head2")
    net, learning = _fine_tuning_layers(recipe)
    assert {name for name, learns in learning.items() if learns} == {"head2", "scores"}
    frozen = [layer for layer in net.layer if layer.type in ("Convolution", "Deconvolution")
              and layer.name not in ("head2", "scores")]
    assert any(not layer.convolution_param.bias_term for layer in frozen)
    assert all(len(layer.param) == 1 + layer.convolution_param.bias_term for layer in frozen)
