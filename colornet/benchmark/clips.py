"""Test clips made from real photos (scikit-image's), written on the fly so nothing large is
committed: a slow pan and zoom, a cut between two photos, a static shot with a small moving
object; 25 fps, with a 440 Hz sine tone as audio. Used by the tests and bench/bench_video.py."""
import fractions
import pathlib

import cv2
import numpy as np

SKIMAGE_DATA = pathlib.Path(__import__("skimage").__file__).parent / "data"
FPS = 25
SAMPLE_RATE = 44100


def photo(name, width=None):
    image = cv2.imread(str(SKIMAGE_DATA / name))
    if width:
        image = cv2.resize(image, (width, round(image.shape[0] * width / image.shape[1])), interpolation=cv2.INTER_AREA)
    return image


def pan_frames(size, seconds):
    """The astronaut photo, panned right by 2 px a frame while zooming in slowly."""
    width, height = size
    source = photo("astronaut.png", 2 * width)
    frames, shifts = [], []
    for index in range(round(seconds * FPS)):
        zoom = 1.0 + 0.002 * index
        crop_w, crop_h = round(width * 1.4 / zoom), round(height * 1.4 / zoom)
        x = 10 + 2 * index
        frames.append(cv2.resize(source[20:20 + crop_h, x:x + crop_w], size, interpolation=cv2.INTER_AREA))
        shifts.append((x, zoom))
    return frames, shifts


def cut_frames(size, seconds):
    """Half the clip one photo (coffee), then a cut to another (chelsea the cat)."""
    first, second = (cv2.resize(photo(name), size, interpolation=cv2.INTER_AREA) for name in ("coffee.png", "chelsea.png"))
    count = round(seconds * FPS)
    return [first if index < count // 2 else second for index in range(count)], count // 2


def film(frame, rng):
    """Old film's frame-to-frame changes: grain and a slight flicker of exposure."""
    grain = rng.normal(0, 6, frame.shape[:2])[..., None]
    return np.clip(frame * rng.uniform(0.96, 1.04) + grain, 0, 255).astype(np.uint8)


def static_frames(size, seconds):
    """A still photo (coffee), filmed with grain and flickering exposure, with a small red ball
    crossing it; returns the frames and, per frame, the ball's mask (where the true content
    changes)."""
    background = cv2.resize(photo("coffee.png"), size, interpolation=cv2.INTER_AREA)
    rng = np.random.default_rng(1895)
    frames, masks = [], []
    for index in range(round(seconds * FPS)):
        frame = film(background, rng)
        mask = np.zeros(size[::-1], np.uint8)
        centre = (20 + 4 * index, size[1] // 3)
        cv2.circle(frame, centre, 10, (40, 40, 200), -1)
        cv2.circle(mask, centre, 14, 255, -1)
        frames.append(frame)
        masks.append(mask > 0)
    return frames, masks


def write_clip(path, frames, audio=True, codec="libx264", audio_codec="aac"):
    """Colour frames → a video file at 25 fps (yuv420p), with a sine tone as long as the video."""
    import av
    height, width = frames[0].shape[:2]
    with av.open(str(path), "w") as container:
        video = container.add_stream(codec, rate=FPS)
        video.width, video.height, video.pix_fmt = width, height, "yuv420p"
        sound = None
        if audio:
            sound = container.add_stream(audio_codec, rate=SAMPLE_RATE)
            sound.layout = "mono"
        for frame in frames:
            container.mux(video.encode(av.VideoFrame.from_ndarray(frame, format="bgr24")))
        container.mux(video.encode(None))
        if sound is not None:
            seconds = len(frames) / FPS
            samples = (0.3 * np.sin(2 * np.pi * 440 * np.arange(round(seconds * SAMPLE_RATE)) / SAMPLE_RATE))
            chunk = 1024
            for offset in range(0, len(samples), chunk):
                block = samples[offset:offset + chunk].astype(np.float32)[None]
                frame = av.AudioFrame.from_ndarray(block, format="fltp", layout="mono")
                frame.sample_rate = SAMPLE_RATE
                frame.pts = offset
                frame.time_base = fractions.Fraction(1, SAMPLE_RATE)
                container.mux(sound.encode(frame))
            container.mux(sound.encode(None))
    return path


def read_frames(path):
    import av
    with av.open(str(path)) as container:
        return [frame.to_ndarray(format="bgr24") for frame in container.decode(video=0)]


def resident_mb():
    """This process's resident memory in MB (Linux: /proc/self/statm)."""
    import os
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2 ** 20


class MemoryTrace:
    """A progress bar stand-in for colorize_video that records (frames done, resident MB) at every
    batch, to show that memory stays flat however long the video."""

    def __init__(self):
        self.frames, self.samples = 0, []

    def update(self, count=1):
        self.frames += count
        self.samples.append((self.frames, resident_mb()))

    def peak(self, until=None):
        """The largest resident MB sampled (over the first `until` frames, if given)."""
        return max(mb for done, mb in self.samples if until is None or done <= until)

    def growth_after(self, frames):
        """How far the resident memory rose above its peak over the first `frames` frames later on
        (MB): the encoder's and allocator's buffers fill during the first batches, then stay."""
        return self.peak() - self.peak(frames)
