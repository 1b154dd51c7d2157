"""The default model's hint net in the pipeline: without hints the bytes of the automatic net;
one click on the moose colours the moose, not the grass (Levin's propagation alone does not); a
click moves the colour where it was put; the export keeps only the hint layers."""
import json
import shutil

import cv2
import numpy as np
import pytest

from colornet.colorize import hints as hint_module
from colornet.colorize.hints import Hint
from colornet.colorize.models import Model, ModelError
from colornet.colorize.pipeline import Colorizer
from colornet.train.export import add_hint_net
from tests.conftest import REPO_ROOT

MOOSE = REPO_ROOT / "data/samples/moose.jpg"
MOOSE_MASK = REPO_ROOT / "tests/serve/moose-mask.png"   # drawn by hand: 255 moose, 128 neither, 0 not
BROWN = hint_module.colour_chroma((40, 75, 120), "yuv64")


@pytest.fixture(scope="module")
def colorizer():
    return Colorizer(Model.resolve("default"))


def _chroma_shift(colorizer, photo, hints):
    automatic = cv2.cvtColor(colorizer.colorize([photo])[0], cv2.COLOR_BGR2YUV)[..., 1:].astype(float)
    hinted = cv2.cvtColor(colorizer.colorize([photo], [hints])[0], cv2.COLOR_BGR2YUV)[..., 1:].astype(float)
    return np.linalg.norm(hinted - automatic, axis=2)


def test_the_default_model_names_its_hint_net_and_a_chosen_weight():
    model = Model.resolve("default")
    assert model.hint_net is not None and all(path.is_file() for path in model.hint_net)
    assert 0 < model.hint_weight <= 1 and model.hint_reach > 0
    # Other weights than the folder's own: the hint net's gains were trained beside those only.
    other = Model.resolve("default", weights=REPO_ROOT / "models/lite/weights.caffemodel")
    assert other.hint_net is None and other.hint_weight is None and other.hint_reach == 0


def test_without_hints_the_bytes_are_the_automatic_models(tmp_path, colorizer):
    plain = tmp_path / "plain"
    shutil.copytree(REPO_ROOT / "models/default", plain)
    card = json.loads((plain / "model.json").read_text())
    del card["hint_net"]
    (plain / "model.json").write_text(json.dumps(card))
    photo = cv2.imread(str(MOOSE))
    automatic = Colorizer(Model.resolve(str(plain)))
    assert automatic.hint_net is None
    assert np.array_equal(colorizer.colorize([photo])[0], automatic.colorize([photo])[0])


def test_one_click_on_the_moose_colours_the_moose_more_than_the_grass(colorizer):
    photo, mask = cv2.imread(str(MOOSE)), cv2.imread(str(MOOSE_MASK), cv2.IMREAD_GRAYSCALE)
    click = [Hint(255, 230, BROWN, 6)]
    shift = _chroma_shift(colorizer, photo, click)
    inside, outside = shift[mask == 255].mean(), shift[mask == 0].mean()
    assert inside >= 2 * outside and inside > 2, (inside, outside)
    levin = _chroma_shift(colorizer.with_settings(hint_weight=0.0), photo, click)
    assert levin[mask == 255].mean() < 2 * levin[mask == 0].mean()  # edges alone: the grass too


@pytest.mark.parametrize("x", [120, 360])
def test_the_net_moves_the_colour_where_the_click_was(colorizer, x):
    photo = cv2.imread(str(MOOSE))
    shift = _chroma_shift(colorizer, photo, [Hint(x, 300, hint_module.colour_chroma((200, 60, 40), "yuv64"), 6)])
    left, right = shift[:, :240].mean(), shift[:, 240:].mean()
    assert (left > right) == (x < 240), (left, right)


def test_the_export_keeps_only_the_hint_layers(tmp_path):
    folder = tmp_path / "model"
    shutil.copytree(REPO_ROOT / "models/default", folder)
    (folder / "hints.caffemodel").unlink()
    with pytest.raises(ModelError, match="has no hint layers"):
        add_hint_net(folder, REPO_ROOT / "prototxt/deploy_squeeze_hints.prototxt",
                     REPO_ROOT / "models/default/weights.caffemodel", 0.5)
    assert not (folder / "hints.caffemodel").exists()


def test_a_full_snapshot_exports_to_the_same_hint_net(tmp_path, colorizer):
    import caffe
    source = REPO_ROOT / "models/default"
    net = caffe.Net(str(source / "deploy_hints.prototxt"), caffe.TEST)
    net.copy_from(str(source / "weights.caffemodel"))
    net.copy_from(str(source / "hints.caffemodel"))
    snapshot = tmp_path / "squeeze_hints_iter_9.caffemodel"
    net.save(str(snapshot))  # every layer, as a training snapshot has
    folder = tmp_path / "model"
    shutil.copytree(source, folder)
    add_hint_net(folder, REPO_ROOT / "prototxt/deploy_squeeze_hints.prototxt", snapshot, 0.5, colorizer.model.hint_reach)
    assert (folder / "hints.caffemodel").stat().st_size < 20_000 < snapshot.stat().st_size
    card = json.loads((folder / "model.json").read_text())["hint_net"]
    assert card["snapshot"] == snapshot.name and card["hint_weight"] == 0.5
    photo, click = cv2.imread(str(MOOSE)), [Hint(255, 230, BROWN, 6)]
    exported = Colorizer(Model.resolve(str(folder))).with_settings(hint_weight=colorizer.hint_weight)
    assert np.array_equal(exported.colorize([photo], [click])[0], colorizer.colorize([photo], [click])[0])
