"""Colour hints (colorize.hints): parsing with one-line errors, propagation along the photo's own
edges, the pipeline with and without hints, the command line, the API and the palette."""
import json
import pathlib
import shutil

import cv2
import numpy as np
import pytest

from colornet.colorize import hints as hint_module
from colornet.colour.gamut import uv_in_gamut
from colornet.colorize.hints import Hint, HintError, parse_hints, propagate
from colornet.colorize.pipeline import Colorizer
from colornet.colorize.models import Model
from colornet.colorize.settings import Settings
from colornet.train.export import set_hint_transfer
from tests.conftest import REPO_ROOT, run_tool

SKIMAGE_DATA = pathlib.Path(__import__("skimage").__file__).parent / "data"


@pytest.fixture(scope="module")
def colorizer():
    # Levin's propagation alone (weight 0 on the net's colours): the default model's hint net is
    # tested in test_hint_net.py.
    return Colorizer(Model.resolve("default"), "opencv", Settings(hint_weight=0.0))


def grey_photo(name="coffee.png", size=None):
    image = cv2.imread(str(SKIMAGE_DATA / name), cv2.IMREAD_GRAYSCALE)
    return cv2.resize(image, size, interpolation=cv2.INTER_AREA) if size else image


@pytest.mark.parametrize("text, message", [
    ('{"x": 1}', "hints.json: must be a JSON list"),
    ("[1, 2", "hints.json: not JSON"),
    ('[{"x": 1, "y": 2}]', "hints.json: point 1: needs x, y and color"),
    ('[{"x": 1, "y": 2, "color": "#00ff00"}, {"x": 900, "y": 2, "color": "#00ff00"}]',
     "hints.json: point 2: (900, 2) is outside the 600×400 photo"),
    ('[{"x": 1, "y": 2, "color": "green"}]', "hints.json: point 1: color 'green' is not #rrggbb"),
    ('[{"x": 1, "y": 2, "color": "#00ff00", "radius": 3}]', "hints.json: point 1: unknown key(s) radius"),
    ('[{"x": "1", "y": 2, "color": "#00ff00"}]', "hints.json: point 1: x, y and size must be numbers"),
    ('[{"x": 1, "y": 2, "color": "#00ff00", "size": 0}]', "hints.json: point 1: size 0 must be between"),
])
def test_bad_hints_get_one_line_naming_the_file_and_the_point(text, message):
    with pytest.raises(HintError) as caught:
        parse_hints(text, 600, 400, "yuv64", "hints.json")
    assert str(caught.value).startswith(message) and "\n" not in str(caught.value)


def test_only_the_colours_chroma_is_used():
    dark, light = parse_hints('[{"x": 1, "y": 2, "color": "#402010"}, {"x": 3, "y": 4, "color": "#c06030"}]',
                              10, 10, "yuv64")
    assert (dark.x, dark.y, dark.size) == (1, 2, hint_module.DEFAULT_HINT_SIZE)
    u, v = dark.chroma
    assert v > 10 and u < 0  # an orange-brown: red over blue
    # The same hue lighter has chroma in the same direction (only the chroma is kept, not its light).
    assert np.sign(light.chroma).tolist() == np.sign(dark.chroma).tolist()


def test_each_hint_colours_its_own_region_and_stops_at_the_edge():
    """Two flat regions split by a luminance edge, one hint in each: each region takes its own
    hint's colour right up to the edge (Levin's method, and with a weak prior alike)."""
    guide = np.full((40, 60), 0.3)
    guide[:, 30:] = 0.8
    mask = np.zeros(guide.shape, bool)
    mask[18:22, 5:9] = mask[10:14, 50:54] = True
    fixed = np.zeros((2, 40, 60), np.float32)
    fixed[:, :, :30][:, mask[:, :30]] = np.float32([20, -15])[:, None]
    fixed[:, :, 30:][:, mask[:, 30:]] = np.float32([-10, 10])[:, None]
    left_hint, right_hint = np.float32([20, -15]), np.float32([-10, 10])
    for weight in (0.0, 1e-5):
        chroma = propagate(guide, mask, fixed, np.zeros((2, 40, 60), np.float32), weight)
        left, right = chroma[:, :, :30].reshape(2, -1).mean(1), chroma[:, :, 30:].reshape(2, -1).mean(1)
        assert np.abs(left - left_hint).max() < 6 and np.abs(right - right_hint).max() < 6, (weight, left, right)
        # The colour steps at the luminance edge rather than blending across the photo.
        step = np.abs(chroma[:, :, 29] - chroma[:, :, 30]).mean(axis=1)
        assert (step > 0.4 * np.abs(left_hint - right_hint)).all(), (weight, step)


def test_without_hints_the_pipeline_gives_todays_bytes(colorizer):
    photo = grey_photo(size=(300, 200))
    today = colorizer.colorize([photo])[0]
    assert np.array_equal(colorizer.colorize([photo], [None])[0], today)
    assert np.array_equal(colorizer.colorize([photo], [[]])[0], today)


def test_a_hint_pulls_the_colour_near_it_towards_the_chosen_one(colorizer):
    photo = grey_photo(size=(300, 200))
    before = colorizer.colorize([photo])[0]
    green = Hint(150, 100, hint_module.colour_chroma((70, 140, 70), "yuv64"), 8)
    after = colorizer.colorize([photo], [[green]])[0]
    uv_before = cv2.cvtColor(before, cv2.COLOR_BGR2YUV)[..., 1:].astype(float) - 128
    uv_after = cv2.cvtColor(after, cv2.COLOR_BGR2YUV)[..., 1:].astype(float) - 128
    near = (slice(98, 102), slice(148, 152))
    # The chosen colour as it can be at those pixels' luminance (its chroma fitted into sRGB).
    wanted = np.rint(np.broadcast_to(green.chroma, uv_after[near].shape) + 128).astype(np.uint8)
    target = uv_in_gamut(photo[near], wanted).astype(float).mean((0, 1)) - 128
    off_after = np.linalg.norm(uv_after[near].mean((0, 1)) - target)
    off_before = np.linalg.norm(uv_before[near].mean((0, 1)) - target)
    assert off_after < 0.3 * off_before, (off_before, off_after)
    # The photo keeps its luminance at every pixel, as the README says (chroma that does not fit
    # at a pixel's luminance is shrunk, never clipped into another luminance).
    y_after = cv2.cvtColor(after, cv2.COLOR_BGR2YUV)[..., 0].astype(int)
    assert np.abs(y_after - photo).max() <= 1


def blocks_photo():
    """600×400 grey: 6×4 blocks of 100 px, neighbours of different luminance, with a little noise."""
    levels = np.array([70, 130, 190, 100, 160, 220])
    rows, cols = np.indices((4, 6))
    photo = np.kron(levels[(rows * 2 + cols) % 6], np.ones((100, 100))).astype(np.float32)
    photo += np.random.default_rng(0).normal(0, 2, photo.shape)
    return np.clip(photo, 0, 255).astype(np.uint8)


def chroma_at(image, x, y, half=3):
    """Mean U, V offsets of the (2·half+1)² pixels around (x, y)."""
    uv = cv2.cvtColor(image, cv2.COLOR_BGR2YUV)[..., 1:].astype(float) - 128
    return uv[y - half:y + half + 1, x - half:x + half + 1].mean((0, 1))


def assert_each_point_shows_its_own_colour(image, points):
    """points: [(x, y, chroma)]. Around each point the colour leans to its own chroma's
    direction, by at least a third of that chroma's length fitted into sRGB there, and away
    from every other point's."""
    grey = cv2.cvtColor(image, cv2.COLOR_BGR2GRAY)
    for x, y, chroma in points:
        seen = chroma_at(image, x, y)
        reach = uv_in_gamut(np.uint8([[grey[y, x]]]), np.uint8(np.rint(np.array(chroma) + 128))[None, None])
        reach = np.linalg.norm(reach[0, 0].astype(float) - 128)
        for other_x, other_y, other in points:
            towards = seen @ (np.array(other, float) / np.linalg.norm(other))
            if (other_x, other_y) == (x, y):
                assert towards > reach / 3, ((x, y), seen, reach)
            else:
                assert towards < 0, ((x, y), seen, (other_x, other_y))


@pytest.mark.parametrize("first, second", [((350, 100), (100, 350)), ((560, 40), (40, 380)), ((300, 200), (20, 20))])
def test_hints_colour_the_places_they_were_put(colorizer, first, second):
    """Two hints of opposite colours on a photo larger than the 256-side grid (one hint alone
    colours a whole photo alike wherever it is put): each point shows its own colour. With x and
    y swapped the first two cases trade places; a wrong photo-to-grid scale moves the points."""
    photo = blocks_photo()
    blue = hint_module.colour_chroma((200, 60, 40), "yuv64")
    red = hint_module.colour_chroma((40, 60, 200), "yuv64")
    result = colorizer.colorize([photo], [[Hint(*first, blue, 6), Hint(*second, red, 6)]])[0]
    assert_each_point_shows_its_own_colour(result, [(*first, blue), (*second, red)])


def test_the_command_line_puts_hints_where_the_file_says(tmp_path):
    cv2.imwrite(str(tmp_path / "blocks.png"), blocks_photo())
    (tmp_path / "hints.json").write_text('[{"x": 350, "y": 100, "color": "#c83c28"},'
                                         ' {"x": 100, "y": 350, "color": "#283cc8"}]')
    result = run_tool("use_trained_model", tmp_path / "blocks.png", "--hints", tmp_path / "hints.json",
                      "-o", tmp_path / "out", "-q")
    assert result.returncode == 0, result.stderr
    assert_each_point_shows_its_own_colour(cv2.imread(str(tmp_path / "out" / "blocks.png")), [
        (350, 100, hint_module.colour_chroma((40, 60, 200), "yuv64")),
        (100, 350, hint_module.colour_chroma((200, 60, 40), "yuv64"))])


def test_hinted_photos_skip_the_net_only_when_their_result_does_not_read_it(colorizer, monkeypatch):
    photo, other = grey_photo(size=(300, 200)), grey_photo("camera.png", size=(200, 200))
    green = [Hint(150, 100, hint_module.colour_chroma((70, 140, 70), "yuv64"), 8)]
    alone = [colorizer.colorize([photo], [green])[0], colorizer.colorize([other])[0]]
    batches = []
    forward = colorizer.runner.forward
    monkeypatch.setattr(colorizer.runner, "forward", lambda batch: batches.append(len(batch)) or forward(batch))
    # λ 0: the hinted photo is a propagation alone; the other photo still gets the net.
    mixed = colorizer.colorize([photo, other], [green, None])
    assert batches == [1] and all(np.array_equal(a, b) for a, b in zip(mixed, alone))
    assert np.array_equal(colorizer.colorize([photo], [green])[0], alone[0]) and batches == [1]
    # With weight on the net's colours the model's hint net runs for the hinted photo (the
    # automatic net does not), and its colours count.
    hint_net, hinted_batches = colorizer.hint_net.get(), []
    hint_forward = hint_net.forward
    monkeypatch.setattr(hint_net, "forward", lambda batch, maps: hinted_batches.append(len(batch)) or hint_forward(batch, maps))
    weighted = colorizer.with_settings(hint_weight=0.02).colorize([photo], [green])[0]
    assert batches == [1] and hinted_batches == [1] and not np.array_equal(weighted, alone[0])


@pytest.mark.parametrize("base", ["automatic", "hint_net"])
def test_a_card_with_a_transfer_corrects_its_base_nets_colours_with_the_hints(tmp_path, monkeypatch, base):
    folder = tmp_path / "model"
    shutil.copytree(REPO_ROOT / "models/default", folder)
    set_hint_transfer(folder, base, 1.0, 10.0, 0.002, 384)
    colorizer = Colorizer(Model.resolve(str(folder)), "opencv")
    assert colorizer.hint_weight == 0.002 and colorizer.model.hint_reach == 384
    photo, green = grey_photo(size=(300, 200)), [Hint(150, 100, hint_module.colour_chroma((70, 140, 70), "yuv64"), 8)]
    batches, hinted_batches = [], []
    forward, hint_net = colorizer.runner.forward, colorizer.hint_net.get()
    hint_forward = hint_net.forward
    monkeypatch.setattr(colorizer.runner, "forward", lambda batch: batches.append(len(batch)) or forward(batch))
    monkeypatch.setattr(hint_net, "forward", lambda batch, maps: hinted_batches.append(len(batch)) or hint_forward(batch, maps))
    hinted = colorizer.colorize([photo], [green])[0]
    assert (batches, hinted_batches) == (([1], []) if base == "automatic" else ([], [1]))
    levin = colorizer.with_settings(hint_weight=0.0).colorize([photo], [green])[0]
    assert len(batches) + len(hinted_batches) == 1 and not np.array_equal(hinted, levin)   # λ 0: no net
    assert np.array_equal(colorizer.colorize([photo])[0], Colorizer(Model.resolve("default"), "opencv").colorize([photo])[0])


def test_the_palette_offers_nine_colours_and_the_likeliest_first(colorizer):
    photo = grey_photo(size=(300, 200))
    colours = colorizer.palette(photo, 150, 100)
    assert len(colours) == 9 and all(len(c) == 7 and c.startswith("#") for c in colours)
    assert len(set(colours)) > 1


def test_the_palette_reads_the_clicked_pixels_classes_in_order_of_likelihood(colorizer, monkeypatch):
    """A net answer with a known order of classes in one cell and another order everywhere else:
    the palette of a click in that cell lists that cell's classes, likeliest first (a reversed
    list, a swapped x/y or another cell's scores fail)."""
    photo = grey_photo(size=(300, 200))
    side = colorizer.model.side // 2
    row, col = 150 * side // 200, 60 * side // 300        # the net's cell of photo pixel (x 60, y 150)
    cell_order = [17, 45, 3, 60, 29, 10, 52, 38, 22]
    elsewhere = [44, 19, 27, 35, 51, 11, 2, 58, 30]
    prob = np.full((1, 64, side, side), 1e-4, np.float32)
    for rank, label in enumerate(elsewhere):
        prob[0, label] = 0.5 / (rank + 1)
    prob[0, :, row, col] = 1e-4
    for rank, label in enumerate(cell_order):
        prob[0, label, row, col] = 0.5 / (rank + 1)
    monkeypatch.setattr(colorizer.runner, "forward", lambda batch: {"prob": prob})
    lum_at = float(photo[150, 60])
    assert colorizer.palette(photo, 60, 150) == [colorizer.class_colour(label, lum_at) for label in cell_order]
    lum_elsewhere = float(photo[60, 150])
    assert colorizer.palette(photo, 150, 60) == [colorizer.class_colour(label, lum_elsewhere) for label in elsewhere]


def test_the_command_line_takes_a_hints_file_and_names_a_bad_point(tmp_path):
    cv2.imwrite(str(tmp_path / "grey.png"), grey_photo(size=(300, 200)))
    good = tmp_path / "hints.json"
    good.write_text(json.dumps([{"x": 150, "y": 100, "color": "#2a8f3c"}, {"x": 40, "y": 30, "color": "#c03020",
                                                                            "size": 10}]))
    result = run_tool("use_trained_model", tmp_path / "grey.png", "--hints", good, "-o", tmp_path / "out", "-q")
    assert result.returncode == 0, result.stderr
    plain = run_tool("use_trained_model", tmp_path / "grey.png", "-o", tmp_path / "plain", "-q")
    assert plain.returncode == 0
    assert (tmp_path / "out/grey.png").read_bytes() != (tmp_path / "plain/grey.png").read_bytes()
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps([{"x": 150, "y": 100, "color": "#2a8f3c"}, {"x": 999, "y": 1, "color": "#000000"}]))
    result = run_tool("use_trained_model", tmp_path / "grey.png", "--hints", bad, "-o", tmp_path / "bad", "-q")
    errors = [line for line in result.stderr.splitlines() if "ERROR" in line]
    assert result.returncode == 1 and len(errors) == 1
    assert "bad.json: point 2: (999, 1) is outside the 300×200 photo" in errors[0]
    assert not (tmp_path / "bad" / "grey.png").exists()
    # --hint-weight: the card's (the default's hint net) unless given; 0 is Levin's alone.
    card_weight = Model.resolve("default").hint_weight
    weighted = run_tool("use_trained_model", tmp_path / "grey.png", "--hints", good, "--hint-weight", str(card_weight), "-o",
                        tmp_path / "weighted", "-q")
    levin = run_tool("use_trained_model", tmp_path / "grey.png", "--hints", good, "--hint-weight", "0", "-o",
                     tmp_path / "levin", "-q")
    assert weighted.returncode == 0 and levin.returncode == 0
    assert (tmp_path / "weighted/grey.png").read_bytes() == (tmp_path / "out/grey.png").read_bytes()
    assert (tmp_path / "levin/grey.png").read_bytes() != (tmp_path / "out/grey.png").read_bytes()
    out_of_range = run_tool("use_trained_model", tmp_path / "grey.png", "--hints", good, "--hint-weight", "3", "-q")
    assert out_of_range.returncode == 2 and "--hint-weight must be between 0.0 and 1.0, got 3.0" in out_of_range.stderr


def test_the_nets_weight_gives_way_near_the_hints():
    fixed = np.zeros((9, 9), bool)
    fixed[4, 4] = True
    assert hint_module.prior_weights(np.zeros((9, 9), bool), 0.5, reach=3) == 0.5  # no hints: one weight
    assert hint_module.prior_weights(fixed, 0.5) == 0.5  # no reach: one weight
    rising = hint_module.prior_weights(fixed, 0.5, reach=3)
    assert rising[4, 4] == 0 and 0 < rising[4, 5] < rising[4, 8] < 0.5
    assert np.allclose(rising, rising.T) and rising[0, 0] > rising[4, 8]  # by distance, in every direction
