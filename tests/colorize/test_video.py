"""Video: round trips on clips made from real photos, temporal smoothing, cuts and bad input."""

import cv2
import numpy as np
import pytest

from colornet.benchmark import clips
from colornet.colorize.files import VideoSettings
from colornet.colorize.pipeline import Colorizer
from colornet.colorize.models import Model
from colornet.colorize.temporal import ChromaSmoother, flicker, is_cut, luminance_histogram
from tests.conftest import colorize_paths, run_tool

av = pytest.importorskip("av")
SIZE = (320, 240)


@pytest.fixture(scope="module")
def colorizer():
    return Colorizer(Model.resolve("default"))


@pytest.fixture(scope="module")
def clip_folder(tmp_path_factory):
    folder = tmp_path_factory.mktemp("clips")
    pan, _ = clips.pan_frames(SIZE, 2)
    clips.write_clip(folder / "pan.mp4", pan)
    cut, _ = clips.cut_frames(SIZE, 2)
    clips.write_clip(folder / "cut.mkv", cut, audio_codec="pcm_s16le")  # an audio codec MP4 does not take
    still, masks = clips.static_frames(SIZE, 2)
    clips.write_clip(folder / "still.mp4", still)
    return folder


def audio_seconds(path):
    with av.open(str(path)) as container:
        stream = container.streams.audio[0]
        return sum(frame.samples for frame in container.decode(audio=0)) / stream.codec_context.sample_rate


@pytest.mark.slow  # long video, or the command line in a fresh process
def test_round_trip_keeps_frames_size_rate_duration_audio_and_luminance(clip_folder, tmp_path):
    result = run_tool("use_trained_model", clip_folder / "pan.mp4", clip_folder / "cut.mkv", "-o", tmp_path, "-q")
    assert result.returncode == 0, result.stderr
    from colornet.colorize.video_source import probe
    for name in ("pan", "cut"):
        source, result = probe(clip_folder / f"{name}.{'mp4' if name == 'pan' else 'mkv'}"), probe(tmp_path / f"{name}.mp4")
        assert (result["width"], result["height"], result["fps"], result["frames"]) == \
            (source["width"], source["height"], source["fps"], source["frames"])
        assert result["duration"] == pytest.approx(source["duration"], abs=0.05)
        assert result["audio"] and audio_seconds(tmp_path / f"{name}.mp4") == pytest.approx(2.0, abs=0.06)
    frames_in, frames_out = clips.read_frames(clip_folder / "pan.mp4"), clips.read_frames(tmp_path / "pan.mp4")
    for before, after in zip(frames_in, frames_out):
        y_in = cv2.cvtColor(before, cv2.COLOR_BGR2YUV)[..., 0].astype(int)
        y_out = cv2.cvtColor(after, cv2.COLOR_BGR2YUV)[..., 0].astype(int)
        assert np.abs(y_in - y_out).mean() < 3  # the codec's loss only
    assert np.abs(frames_out[10][..., 2].astype(int) - frames_out[10][..., 0]).mean() > 3  # in colour
    assert not list(tmp_path.glob(".*partial*"))


@pytest.mark.slow  # 7 s with the squeeze default: make test keeps the frame-by-frame video test
def test_smoothing_cuts_flicker_on_a_still_shot_and_costs_no_colour(clip_folder, colorizer, tmp_path):
    from colornet.colorize.video import colorize_video
    _, masks = clips.static_frames(SIZE, 2)
    results = {}
    for name, strength in (("frame", 0.0), ("smooth", 0.8)):
        colorize_video(colorizer, clip_folder / "still.mp4", tmp_path / f"{name}.mp4", smoothing=strength)
        results[name] = flicker(clips.read_frames(tmp_path / f"{name}.mp4"), masks)
    assert results["smooth"] < 0.5 * results["frame"], results


@pytest.mark.slow  # 7 s with the squeeze default
def test_a_cut_is_found_and_the_colour_switches_with_it(clip_folder, colorizer, tmp_path):
    from colornet.colorize.video import colorize_video
    frames, cut_at = clips.cut_frames(SIZE, 2)
    outputs = {}
    for name, strength in (("frame", 0.0), ("smooth", 0.8)):
        written, cuts = colorize_video(colorizer, clip_folder / "cut.mkv", tmp_path / f"{name}.mp4", smoothing=strength)
        assert written == len(frames) and cuts == [cut_at]
        outputs[name] = clips.read_frames(tmp_path / f"{name}.mp4")
    ab = {name: [cv2.cvtColor(f, cv2.COLOR_BGR2LAB)[..., 1:].astype(float) for f in frames] for name, frames in outputs.items()}
    # Within 2 frames of the cut the smoothed colour is the new scene's own (frame-by-frame's).
    for offset in (0, 1, 2):
        assert np.abs(ab["smooth"][cut_at + offset] - ab["frame"][cut_at + offset]).mean() < 1.5


@pytest.mark.slow  # long video, or the command line in a fresh process
def test_start_duration_webm_and_a_colour_video_greyed_first(clip_folder, tmp_path):
    part_settings = VideoSettings(video_format="webm", start=0.4, duration=1)
    assert colorize_paths([clip_folder / "pan.mp4"], tmp_path / "part", video=part_settings).failures == []
    from colornet.colorize.video_source import probe
    part = probe(tmp_path / "part" / "pan.webm")
    assert part["frames"] == 25 or abs(part["duration"] - 1.0) < 0.1
    assert audio_seconds(tmp_path / "part" / "pan.webm") == pytest.approx(1.0, abs=0.1)
    frames = clips.read_frames(clip_folder / "pan.mp4")
    grey = [cv2.cvtColor(cv2.cvtColor(f, cv2.COLOR_BGR2GRAY), cv2.COLOR_GRAY2BGR) for f in frames]
    clips.write_clip(tmp_path / "grey.mp4", grey, audio=False)
    for name in ("pan.mp4",):
        assert colorize_paths([clip_folder / name, tmp_path / "grey.mp4"], tmp_path / "g").failures == []
    colour, from_grey = clips.read_frames(tmp_path / "g" / "pan.mp4"), clips.read_frames(tmp_path / "g" / "grey.mp4")
    assert np.mean([np.abs(a.astype(int) - b).mean() for a, b in zip(colour, from_grey)]) < 3


def test_bad_videos_get_one_line_errors_and_the_rest_still_run(clip_folder, tmp_path, caplog):
    data = (clip_folder / "pan.mp4").read_bytes()
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "broken.mp4").write_bytes(data[: len(data) // 2])
    sound = tmp_path / "in" / "tone.mp4"  # an MP4 with a sound track and no picture
    with av.open(str(sound), "w", format="mp4") as container:
        stream = container.add_stream("aac", rate=clips.SAMPLE_RATE)
        stream.layout = "mono"
        frame = av.AudioFrame.from_ndarray(np.zeros((1, 4096), np.float32), format="fltp", layout="mono")
        frame.sample_rate = clips.SAMPLE_RATE
        container.mux(stream.encode(frame))
        container.mux(stream.encode(None))
    cv2.imwrite(str(tmp_path / "in" / "photo.png"), clips.photo("chelsea.png"))
    report = colorize_paths([tmp_path / "in"], tmp_path / "out")
    assert len(report.failures) == 2
    errors = [r.getMessage() for r in caplog.records if r.levelname == "ERROR"]
    assert any("broken.mp4: not a readable video" in e for e in errors)
    assert any("tone.mp4: has no video stream" in e for e in errors)
    assert all("\n" not in e for e in errors)
    assert (tmp_path / "out" / "photo.png").is_file()
    assert not (tmp_path / "out" / "tone.mp4").exists()


def test_a_truncated_video_keeps_what_was_decoded_and_says_how_much(clip_folder, colorizer, tmp_path):
    from colornet.colorize.video import colorize_video
    from colornet.colorize.video_source import VideoError
    frames, _ = clips.pan_frames(SIZE, 2)
    whole = clips.write_clip(tmp_path / "whole.mkv", frames, audio=False)  # Matroska: header first
    data = whole.read_bytes()
    (tmp_path / "cut.mkv").write_bytes(data[: len(data) * 6 // 10])
    with pytest.raises(VideoError, match=r"cut.mkv: the video breaks off after (\d+) of its 50 frames") as caught:
        colorize_video(colorizer, tmp_path / "cut.mkv", tmp_path / "out.mp4")
    kept = int(caught.value.args[0].split("after ")[1].split()[0])
    assert 10 < kept < 50 and len(clips.read_frames(tmp_path / "out.mp4")) == kept


def test_over_the_pixel_limit_is_refused(clip_folder, tmp_path, caplog):
    assert colorize_paths([clip_folder / "pan.mp4"], tmp_path, max_pixels=50_000).failures
    assert any("over the pixel limit" in r.getMessage() for r in caplog.records)
    assert not (tmp_path / "pan.mp4").exists()


def test_smoother_and_cut_detection_on_arrays():
    rng = np.random.default_rng(0)
    lum = rng.integers(0, 256, (56, 56), dtype=np.uint8)
    other = np.clip(lum.astype(int) // 3, 0, 255).astype(np.uint8)
    assert not is_cut(luminance_histogram(lum), luminance_histogram(lum))
    assert is_cut(luminance_histogram(lum), luminance_histogram(other))
    smoother = ChromaSmoother(0.8, motion=False)
    first = smoother.update(np.full((2, 56, 56), 10.0), lum)
    second = smoother.update(np.full((2, 56, 56), 20.0), lum)
    assert np.allclose(first, 10) and np.allclose(second, 12)
    assert np.allclose(smoother.update(np.full((2, 56, 56), -5.0), other), -5) and smoother.cuts == [2]
    with pytest.raises(ValueError):
        ChromaSmoother(1.0)


def test_the_smoother_follows_a_pan_in_the_right_direction():
    """A real photo panned by a known 3 px a frame, each frame's chroma its own true chroma: the
    running average moved by the flow must land on this frame's colours. Unmoved it lags 3 px
    behind; moved the wrong way, 6 px."""
    bgr = clips.photo("astronaut.png", 220)
    yuv = cv2.cvtColor(bgr, cv2.COLOR_BGR2YUV)
    step, size = 3, 112

    def frame(index):
        window = yuv[40:40 + size, 20 + step * index:20 + step * index + size]  # content moves left
        return window[..., 1:].transpose(2, 0, 1).astype(np.float32) - 128, np.ascontiguousarray(window[..., 0])
    errors = {}
    for motion in (False, True):
        smoother = ChromaSmoother(0.9, motion=motion)
        for index in range(6):
            chroma, lum = frame(index)
            result = smoother.update(chroma, lum)
        inner = (slice(None), slice(12, -12), slice(12, -12))  # away from where content enters
        errors[motion] = np.abs(result - chroma)[inner].mean()
    assert errors[True] < 0.5 * errors[False], errors


def test_frame_by_frame_video_shows_the_stills_colours(clip_folder, colorizer, tmp_path, monkeypatch):
    """With no smoothing each frame is what the photo path makes of it: the encoder is handed
    exactly the stills (as I420), and a player shows the stills' colours within the codec's loss
    (the stream is tagged as the BT.601 limited range it holds, U and V the right way round)."""
    from colornet.colorize.video import colorize_video
    handed = []
    original = av.VideoFrame.from_ndarray

    def recording(array, format):
        handed.append(array.copy())
        return original(array, format=format)
    monkeypatch.setattr(av.VideoFrame, "from_ndarray", recording)
    source = clip_folder / "pan.mp4"
    colorize_video(colorizer, source, tmp_path / "pan.mp4", smoothing=0.0, motion=False)
    with av.open(str(tmp_path / "pan.mp4")) as container:
        stream = container.streams.video[0].codec_context
        assert (stream.colorspace, stream.color_range) == (6, 1)  # BT.601 (SMPTE 170M), limited range
    shown, frames = clips.read_frames(tmp_path / "pan.mp4"), clips.read_frames(source)
    stills = [still for first in range(0, len(frames), 8) for still in colorizer.colorize(frames[first:first + 8])]
    assert len(shown) == len(stills) == len(handed) == 50
    for frame, still, given in zip(shown, stills, handed):
        np.testing.assert_array_equal(given, cv2.cvtColor(still, cv2.COLOR_BGR2YUV_I420))
        # What the codec may change: 4:2:0 halves chroma resolution (measured on the still itself;
        # it costs more the more chroma detail a frame has), then H.264 and the limited range.
        # Swapped U and V, or a range tagged wrongly, are tens of levels off.
        subsampled = cv2.cvtColor(cv2.cvtColor(still, cv2.COLOR_BGR2YUV_I420), cv2.COLOR_YUV2BGR_I420)
        chroma_loss = np.abs(subsampled.astype(int) - still).mean(axis=(0, 1)).max()
        assert np.abs(frame.astype(int) - still).mean(axis=(0, 1)).max() < chroma_loss + 2.0


@pytest.mark.slow  # long video, or the command line in a fresh process
def test_memory_stays_flat_over_a_long_video(colorizer, tmp_path):
    """Frames are streamed: 200 frames at 320×240 end with the memory of the first 80 (holding the
    120 later frames in and out would add about 50 MB)."""
    from colornet.colorize.video import colorize_video
    pan, _ = clips.pan_frames(SIZE, 2)
    source = clips.write_clip(tmp_path / "long.mp4", pan * 4, audio=False)
    trace = clips.MemoryTrace()
    written, _ = colorize_video(colorizer, source, tmp_path / "out.mp4", progress=trace)
    assert written == trace.frames == 200
    assert trace.growth_after(80) < 10
