"""Hints as corrections to the net's colours (colorize/hint_transfer.py): a hint that agrees with
the net changes nothing, one that disagrees mends the whole object, the correction stops where the
net's colours change even where the luminance does not, and the card's entry is checked."""
import json
import shutil

import numpy as np
import pytest

from colornet.colorize import hints as hint_module
from colornet.colorize.hint_transfer import HintTransfer, TransferError, transferred_chroma
from colornet.colorize.hints import Hint
from colornet.colorize.models import Model, ModelError
from colornet.train.export import set_hint_transfer
from tests.conftest import REPO_ROOT

SIDE = 64


def flat_photo(level=120):
    return np.full((SIDE, SIDE), level, np.uint8)


def two_colour_base(left=(-20.0, 10.0), right=(15.0, -5.0)):
    """The net's chroma on its own 16×16 grid: one colour on the left half, another on the right."""
    base = np.zeros((2, 16, 16), np.float32)
    base[:, :, :8] = np.float32(left)[:, None, None]
    base[:, :, 8:] = np.float32(right)[:, None, None]
    return base


def test_a_hint_that_agrees_with_the_net_changes_nothing_and_one_that_does_not_mends_everything():
    base = np.full((2, 16, 16), 7.0, np.float32)
    agreeing = transferred_chroma(flat_photo(), base, [Hint(20, 20, (7.0, 7.0), 4)], "yuv64", 0.0)
    assert np.allclose(agreeing, 7.0, atol=1e-3)
    # A cast: the net 7 levels too far on U everywhere; one point says so, and with no fade the
    # whole photo is mended (Levin's propagation from grey would paint the hint's colour instead).
    mended = transferred_chroma(flat_photo(), base, [Hint(20, 20, (0.0, 7.0), 4)], "yuv64", 0.0)
    assert np.allclose(mended[0], 0.0, atol=1e-3) and np.allclose(mended[1], 7.0, atol=1e-3)


def test_without_hints_it_is_the_nets_colours_on_the_grid():
    result = transferred_chroma(flat_photo(), two_colour_base(), [], "yuv64", 0.002, 384)
    assert result.shape == (2, SIDE, SIDE)
    assert np.allclose(result[:, :, :24], np.float32([-20, 10])[:, None, None], atol=0.5)
    assert np.allclose(result[:, :, -24:], np.float32([15, -5])[:, None, None], atol=0.5)


def test_the_correction_stops_where_the_nets_colours_change_though_the_grey_does_not():
    base, click = two_colour_base(), [Hint(12, 32, (0.0, 30.0), 4)]   # on the left half
    guided = transferred_chroma(flat_photo(), base, click, "yuv64", 0.002, reach=16, net_guide=10.0)
    blind = transferred_chroma(flat_photo(), base, click, "yuv64", 0.002, reach=16, net_guide=0.0)
    unhinted = transferred_chroma(flat_photo(), base, [], "yuv64", 0.002)

    def moved(result, columns):
        return np.linalg.norm(result - unhinted, axis=0)[:, columns].mean()

    near, far = slice(20, 30), slice(34, 44)   # either side of the net's colour edge at 32
    # The fade alone (by distance) keeps some of the correction near; the net's edge most of it.
    assert moved(guided, near) > 10 * moved(guided, far)
    assert moved(blind, near) < 3 * moved(blind, far)
    assert moved(blind, far) > 3 * moved(guided, far)


def test_the_fade_keeps_one_click_near_itself_and_many_reach_further():
    base = np.zeros((2, 16, 16), np.float32)
    one = transferred_chroma(flat_photo(), base, [Hint(8, 8, (30.0, 0.0), 4)], "yuv64", 0.02, reach=16)
    assert one[0, 8, 8] > 25 and one[0, -4, -4] < 0.5 * one[0, 8, 8]
    unfaded = transferred_chroma(flat_photo(), base, [Hint(8, 8, (30.0, 0.0), 4)], "yuv64", 0.0)
    assert np.allclose(unfaded[0], 30.0, atol=1e-2)


@pytest.mark.parametrize("entry, message", [
    ({"base": "shirt"}, "hint_transfer.base must be one of automatic, hint_net"),
    ({"temperature": 0}, "hint_transfer.temperature must be a number from 0.01 to 5.0"),
    ({"net_guide": "ten"}, "hint_transfer.net_guide must be a number"),
])
def test_a_bad_card_entry_is_named(entry, message):
    with pytest.raises(TransferError, match=message):
        HintTransfer.from_card(entry, "model.json")


def test_the_export_names_the_transfer_and_the_model_applies_it(tmp_path):
    folder = tmp_path / "model"
    shutil.copytree(REPO_ROOT / "models/default", folder)
    card = json.loads((folder / "model.json").read_text())
    card.pop("hint_transfer", None)
    (folder / "model.json").write_text(json.dumps(card))
    assert Model.resolve(str(folder)).hint_transfer is None
    set_hint_transfer(folder, "hint_net", 0.8, 3.0, 0.004, 100)
    model = Model.resolve(str(folder))
    assert model.hint_transfer == HintTransfer("hint_net", 0.8, 3.0)
    assert (model.hint_weight, model.hint_reach) == (0.004, 100)
    # Other weights than the folder's own: what was chosen with its weights does not apply.
    other = Model.resolve(str(folder), weights=REPO_ROOT / "models/lite/weights.caffemodel")
    assert other.hint_transfer is None and other.hint_weight is None
    with pytest.raises(ModelError, match="hint_transfer.temperature must be a number"):
        set_hint_transfer(folder, "automatic", 9.0, 3.0, 0.004, 100)
    assert Model.resolve(str(folder)).hint_transfer.temperature == 0.8   # the card kept as it was
    del card["hint_net"]
    (folder / "model.json").write_text(json.dumps({**card, "hint_transfer": {"base": "hint_net"}}))
    with pytest.raises(ModelError, match="names no hint_net"):
        Model.resolve(str(folder))
