"""Camera-size inference: the 8-bit fast path against the float path it replaced, the guided
chroma upsampling, and the pixel limit read from file headers."""
import pathlib

import cv2
import numpy as np
import pytest

from colornet.colorize import families, pipeline as colorize
from colornet.colorize.sheets import contact_sheet
from colornet.benchmark.float_path import float_path
from colornet.colorize import upsample
from colornet.colour.gamut import ab_in_gamut, uv_in_gamut
from colornet.colorize.upsample import add_detail, guided_slopes
from colornet.photo_io import PixelLimitExceeded, header_size, read_bgr
from tests.conftest import colorize_paths, run_tool
from tests.helpers import png_bomb

SKIMAGE_DATA = pathlib.Path(__import__("skimage").__file__).parent / "data"


def real_photos(tmp_path):
    """Colour, grey, odd-sized and 16-bit real photos, as read_bgr returns them."""
    astronaut = cv2.imread(str(SKIMAGE_DATA / "astronaut.png"))
    coffee = cv2.imread(str(SKIMAGE_DATA / "coffee.png"))
    grey = cv2.imread(str(SKIMAGE_DATA / "camera.png"), cv2.IMREAD_GRAYSCALE)
    cv2.imwrite(str(tmp_path / "grey.png"), grey)
    cv2.imwrite(str(tmp_path / "odd.png"), cv2.resize(coffee, (301, 197), interpolation=cv2.INTER_AREA))
    cv2.imwrite(str(tmp_path / "deep.png"), astronaut[:333, :471].astype(np.uint16) * 257 + 100)
    return [astronaut] + [read_bgr(tmp_path / name) for name in ("grey.png", "odd.png", "deep.png")]


def true_chroma(bgr, size=112):
    """The photo's own UV offsets at the net's output resolution: a realistic chroma field."""
    yuv = cv2.cvtColor(cv2.resize(bgr, (size, size), interpolation=cv2.INTER_AREA), cv2.COLOR_BGR2YUV)
    return yuv[..., 1:].transpose(2, 0, 1).astype(np.float32) - 128 + 0.3  # off whole levels on purpose


def test_fast_stages_equal_the_float_path_within_one_level(tmp_path):
    photos = real_photos(tmp_path)
    grey = photos[1]
    assert np.array_equal(colorize.luminance(grey, "yuv64"), grey[..., 0])
    for bgr in photos:
        chroma = true_chroma(bgr)
        old_lum, old_input, old_yuv, old_bgr = float_path(bgr, chroma, 224)
        lum = colorize.luminance(bgr, "yuv64")
        # OpenCV's BGR→grey and BGR→YUV round Y differently on a few colour pixels (0.04 %).
        assert lum.dtype == np.uint8 and np.abs(lum - old_lum).max() <= 1
        float_input = cv2.resize(lum.astype(np.float32), (224, 224), interpolation=cv2.INTER_AREA)
        assert np.abs(colorize.net_input(lum, 224) - float_input).max() <= 1.0  # 8-bit rounding only
        assert np.abs(colorize.net_input(lum, 224) - old_input).max() <= 1.5
        uv = families.upsample_uv(lum, chroma, guided=False)
        assert np.abs(uv.astype(int) - old_yuv[..., 1:]).max() <= 1
        out = colorize.compose(lum, chroma, "yuv64", guided=False)
        assert out.shape == bgr.shape
        # Where the colour fits in sRGB at the pixel's luminance both paths give it; elsewhere the
        # float path clips R, G, B (moving the luminance) and ours shrinks the chroma instead.
        in_gamut = (uv_in_gamut(lum, uv) == uv).all(axis=2)
        difference = np.abs(out.astype(int) - old_bgr)[in_gamut]
        assert in_gamut.mean() > 0.9
        assert difference.max() <= 3 and difference.mean() < 0.5  # a level of Y, U and V each: up to 2.8 of B
        assert np.abs(cv2.cvtColor(out, cv2.COLOR_BGR2GRAY).astype(int) - lum).max() <= 1


def test_lab_luminance_and_compose_in_bands_equal_the_whole_image():
    from colornet.colour import lab313
    bgr = cv2.imread(str(SKIMAGE_DATA / "coffee.png"))
    bgr = np.vstack([bgr, bgr[:300]])  # over two bands of chroma_upsample.BAND_ROWS
    lum = colorize.luminance(bgr, "lab313")
    np.testing.assert_array_equal(lum, lab313.bgr8_to_l(bgr))
    chroma = np.random.default_rng(1).normal(0, 20, (2, 56, 56)).astype(np.float32)
    upsampled = cv2.resize(chroma.transpose(1, 2, 0), lum.shape[::-1], interpolation=cv2.INTER_CUBIC)
    np.testing.assert_array_equal(colorize.compose(lum, chroma, "lab313", guided=False),
                                  lab313.lab_to_bgr(np.dstack([lum, ab_in_gamut(lum, upsampled)])))


def test_lab_chroma_in_bands_equals_the_whole_image_upsampling():
    """The Lab/313 composition's chroma a band at a time (upsample.float_bands): the same as
    upsample's whole float image, on a real photo's L, at or below the guided size (slices of it),
    above it (cubic warps of the guided result onto each band) and with cubic upsampling."""
    from colornet.colour import lab313
    bgr = cv2.imread(str(SKIMAGE_DATA / "coffee.png"))
    lum = lab313.bgr8_to_l(np.vstack([bgr, bgr[:300]]))
    chroma = np.random.default_rng(2).normal(0, 20, (2, 56, 56)).astype(np.float32)
    for guided, most in ((True, upsample.GUIDED_MAX_PIXELS), (True, 60_000), (False, upsample.GUIDED_MAX_PIXELS)):
        whole = upsample.upsample(chroma, lum, 100, dtype=np.float32, guided=guided, guided_max_pixels=most)
        band = upsample.float_bands(chroma, lum, 100, guided=guided, guided_max_pixels=most)
        joined = np.vstack([band(rows) for rows in upsample.row_bands(lum.shape[0], 128)])
        np.testing.assert_allclose(joined, whole, atol=1e-3)


def bilinear_taps(source, target):
    """Index pairs and weights of OpenCV's INTER_LINEAR mapping (pixel centres aligned, edges
    clamped) from ``source`` samples to ``target``: (i0, i1, f) each of length target."""
    position = (np.arange(target, dtype=np.float64) + 0.5) * (source / target) - 0.5
    position = np.clip(position, 0, source - 1)
    i0 = np.floor(position).astype(np.int64)
    i1 = np.minimum(i0 + 1, source - 1)
    return i0, i1, (position - i0).astype(np.float32)


def add_detail_reference(base, guide, guide_low, slopes, guide_scale):
    """numpy: base H×W×2 + bilinear(slopes) · (guide − cubic(guide_low)) · guide_scale, as float32
    (the banded path's reference; full-size float copies, so small images only)."""
    height, width = guide.shape
    guide_low_up = cv2.resize(guide_low, (width, height), interpolation=cv2.INTER_CUBIC)
    y0, y1, fy = bilinear_taps(slopes.shape[0], height)
    x0, x1, fx = bilinear_taps(slopes.shape[1], width)
    rows = slopes[y0] * (1 - fy)[:, None, None] + slopes[y1] * fy[:, None, None]
    full = rows[:, x0] * (1 - fx)[None, :, None] + rows[:, x1] * fx[None, :, None]
    detail = (guide.astype(np.float32) - guide_low_up.astype(np.float32)) * np.float32(guide_scale)
    return base.astype(np.float32) + full * detail[..., None]


def test_banded_detail_transfer_equals_the_whole_image_reference():
    bgr = cv2.imread(str(SKIMAGE_DATA / "coffee.png"))
    lum = colorize.luminance(bgr, "yuv64")
    chroma = true_chroma(bgr)
    guide_low = cv2.resize(lum, (112, 112), interpolation=cv2.INTER_AREA)
    slopes = guided_slopes(guide_low.astype(np.float32) / 255, chroma)
    assert np.abs(slopes).max() > 10  # chroma does follow luminance somewhere in this photo
    base = families.upsample_uv(lum, chroma, guided=False)
    reference = add_detail_reference(base, lum, guide_low, slopes, 1 / 255)
    compiled = add_detail(base.copy(), lum, guide_low, slopes, 1 / 255, rows=100)  # bands of 100 rows
    assert compiled.dtype == np.uint8 and compiled.shape == lum.shape + (2,)
    # The warp's 1/32-pixel interpolation grid against resize's exact one: well under a level.
    assert np.abs(compiled.astype(np.float32) - np.clip(reference, 0, 255)).max() <= 1.5
    assert np.abs(compiled.astype(np.float32) - np.clip(reference, 0, 255)).mean() < 0.3
    assert not np.array_equal(compiled, base)
    as_float = add_detail(base.astype(np.float32), lum, guide_low, slopes, 1 / 255, rows=100)
    np.testing.assert_allclose(as_float, reference, atol=1.0)
    np.testing.assert_array_equal(compiled, families.upsample_uv(lum, chroma, guided=True))


def red_disc_on_blue(height, width):
    """A red object on a blue ground: its edge falls between the net's pixels."""
    y, x = np.mgrid[0:height, 0:width]
    inside = (x - 0.475 * width) ** 2 + (y - 0.483 * height) ** 2 < (0.2375 * width) ** 2
    bgr = np.where(inside[..., None], np.uint8([30, 30, 150]), np.uint8([235, 200, 140]))  # dark red on sky blue
    band = max(15, width // 50) | 1
    near_edge = cv2.dilate(inside.astype(np.uint8), np.ones((band, band))) != \
        cv2.erode(inside.astype(np.uint8), np.ones((band, band)))
    return bgr, near_edge


def edge_errors(bgr, near_edge):
    lum = colorize.luminance(bgr, "yuv64")
    truth = cv2.cvtColor(bgr, cv2.COLOR_BGR2YUV)[..., 1:].astype(int)
    chroma = true_chroma(bgr)
    errors = {}
    for guided in (False, True):
        uv = families.upsample_uv(lum, chroma, guided)
        assert uv.shape == bgr.shape[:2] + (2,)
        errors[guided] = np.abs(uv.astype(int) - truth)[near_edge].mean()
    return errors


def test_guided_upsampling_keeps_colour_on_its_side_of_an_edge():
    """The true colour at low resolution is blurred across the edge; guided by the sharp
    luminance it comes back sharp."""
    errors = edge_errors(*red_disc_on_blue(600, 800))
    assert errors[True] < 0.5 * errors[False], errors


def test_guided_upsampling_of_a_camera_size_photo_guides_at_2mp_then_scales(monkeypatch):
    """Over GUIDED_MAX_PIXELS (every camera photo) the guide is the photo halved until it fits,
    and the guided result is brought to full size from there: still sharper than cubic."""
    sizes, halve = [], upsample.halve

    def recording_halve(image, done):
        halved = halve(image, done)
        sizes.append(halved.shape)
        return halved
    monkeypatch.setattr(upsample, "halve", recording_halve)
    errors = edge_errors(*red_disc_on_blue(1800, 2400))  # 4.3 MP
    assert sizes == [(900, 1200)]  # one halving: 1.08 MP, under the 2 MP limit
    assert errors[True] < 0.7 * errors[False], errors


def test_guided_output_keeps_the_photos_luminance(tmp_path):
    for bgr in real_photos(tmp_path)[:3]:
        lum = colorize.luminance(bgr, "yuv64")
        for strength in (0.5, 2.0):  # moderate colours, and colours pushed out of sRGB
            out = colorize.compose(lum, true_chroma(bgr) * strength, "yuv64", guided=True)
            y_out = cv2.cvtColor(out, cv2.COLOR_BGR2YUV)[..., 0].astype(int)
            assert np.abs(y_out - lum).max() <= 1, strength


def test_a_decompression_bomb_is_refused_from_its_header(tmp_path):
    bomb = png_bomb(tmp_path / "bomb.png")
    assert bomb.stat().st_size < 1_000_000
    with pytest.raises(PixelLimitExceeded, match=r"bomb.png: 30000×30000 is 900.0 MP, over the pixel limit of 50 MP"):
        read_bgr(bomb)
    small = png_bomb(tmp_path / "small.png", side=300)
    assert read_bgr(small, max_pixels=300 * 300).shape == (300, 300, 3)
    with pytest.raises(PixelLimitExceeded):
        read_bgr(small, max_pixels=300 * 300 - 1)


@pytest.mark.parametrize("suffix", [".png", ".jpg", ".webp", ".bmp", ".tif", ".ppm", ".pgm"])
def test_header_size_reads_every_common_format(tmp_path, suffix):
    image = np.random.default_rng(0).integers(0, 256, (37, 53, 3), dtype=np.uint8)
    if suffix == ".pgm":
        image = image[..., 0]
    ok, payload = cv2.imencode(suffix, image)
    assert ok and header_size(payload.tobytes()) == (53, 37)


def test_the_command_line_skips_a_bomb_and_colours_the_rest(tmp_path):
    photos = tmp_path / "in"
    photos.mkdir()
    png_bomb(photos / "bomb.png")
    cv2.imwrite(str(photos / "real.jpg"), cv2.imread(str(SKIMAGE_DATA / "coffee.png")))
    result = run_tool("use_trained_model", photos, "-o", tmp_path / "out", "-q")
    assert result.returncode == 1
    assert (tmp_path / "out" / "real.png").is_file() and not (tmp_path / "out" / "bomb.png").exists()
    errors = [line for line in result.stderr.splitlines() if "ERROR" in line]
    assert len(errors) == 1 and "bomb.png" in errors[0] and "--max-pixels" in errors[0], result.stderr
    report = colorize_paths([photos / "real.jpg"], tmp_path / "tiny", max_pixels=100_000)
    assert report.written == 0 and "real.jpg" in report.failures[0]


def test_the_before_after_sheet_is_filled_by_its_pictures():
    rng = np.random.default_rng(2)
    pairs = []
    for height, width in ((300, 200), (200, 400), (250, 250), (120, 500), (400, 300), (300, 450)):
        image = rng.integers(30, 220, (height, width, 3), dtype=np.uint8)
        pairs.append((image, image))
    sheet = contact_sheet(pairs)
    white = np.all(sheet == 255, axis=2).mean()
    assert white < 0.12, white
    assert 0.5 < sheet.shape[1] / sheet.shape[0] < 3


def test_net_input_of_a_camera_size_photo_equals_the_float_path_within_a_level():
    large = cv2.resize(cv2.imread(str(SKIMAGE_DATA / "astronaut.png"), cv2.IMREAD_GRAYSCALE), (3001, 2250),
                       interpolation=cv2.INTER_CUBIC)  # odd width on purpose
    direct = cv2.resize(large.astype(np.float32), (224, 224), interpolation=cv2.INTER_AREA)
    fast = colorize.net_input(large, 224)
    assert fast.shape == (224, 224) and np.abs(fast - direct).max() <= 1.0
