"""Colour hints (colorize.hints): parsing with one-line errors, propagation along the photo's own
edges, the pipeline with and without hints, the command line, the API and the palette."""
import json
import pathlib

import cv2
import numpy as np
import pytest

from colornet.colorize import hints as hint_module
from colornet.colour.gamut import uv_in_gamut
from colornet.colorize.hints import Hint, HintError, parse_hints, propagate
from colornet.colorize.pipeline import Colorizer
from colornet.colorize.models import Model
from tests.conftest import run_tool

SKIMAGE_DATA = pathlib.Path(__import__("skimage").__file__).parent / "data"


@pytest.fixture(scope="module")
def colorizer():
    return Colorizer(Model.resolve("default"), "opencv")


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


def test_hinted_photos_skip_the_net_only_when_their_result_does_not_read_it(colorizer, monkeypatch):
    photo, other = grey_photo(size=(300, 200)), grey_photo("camera.png", size=(200, 200))
    green = [Hint(150, 100, hint_module.colour_chroma((70, 140, 70), "yuv64"), 8)]
    alone = [colorizer.colorize([photo], [green])[0], colorizer.colorize([other])[0]]
    batches = []
    forward = colorizer.runner.forward
    monkeypatch.setattr(colorizer.runner, "forward", lambda batch: batches.append(len(batch)) or forward(batch))
    # λ 0 (the default): the hinted photo is a propagation alone; the other photo still gets the net.
    mixed = colorizer.colorize([photo, other], [green, None])
    assert batches == [1] and all(np.array_equal(a, b) for a, b in zip(mixed, alone))
    assert np.array_equal(colorizer.colorize([photo], [green])[0], alone[0]) and batches == [1]
    # With weight on the net's colours the net runs for the hinted photo too, and its colours count.
    weighted = colorizer.with_settings(hint_weight=0.02).colorize([photo], [green])[0]
    assert batches == [1, 1] and not np.array_equal(weighted, alone[0])


def test_the_palette_offers_nine_colours_and_the_likeliest_first(colorizer):
    photo = grey_photo(size=(300, 200))
    colours = colorizer.palette(photo, 150, 100)
    assert len(colours) == 9 and all(len(c) == 7 and c.startswith("#") for c in colours)
    assert len(set(colours)) > 1


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
