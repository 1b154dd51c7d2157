"""Colorizing video: decode, colour in batches through colorize/pipeline.py, smooth the colour over
time (colorize/temporal.py), encode, with the audio copied. Used by tools/use_trained_model.py.

PyAV (FFmpeg inside its wheel: no system FFmpeg, the same codecs everywhere) reads any container
FFmpeg reads and writes H.264 in MP4 or VP9 in WebM. Frames are streamed in batches of --batch:
memory stays flat however long the video. The output is written beside its target and renamed
when complete, so an interrupted run leaves no half-written file.
"""
import fractions
import logging
import os
import pathlib

import cv2
import numpy as np

from colornet.colorize import families
from colornet.colorize.pipeline import compose, luminance
from colornet.photo_io import check_pixels
from colornet.colorize.temporal import ChromaSmoother

log = logging.getLogger("video")
VIDEO_SUFFIXES = {".mp4", ".mkv", ".avi", ".mov", ".webm", ".m4v", ".mpg", ".mpeg", ".ogv", ".wmv", ".flv", ".ts"}
CONTAINERS = {"mp4": ("libx264", "yuv420p", {"aac", "mp3", "ac3", "opus", "alac", "flac"}, "aac"),
              "webm": ("libvpx-vp9", "yuv420p", {"opus", "vorbis"}, "libopus")}
# Encoder settings: near-transparent quality at a fast preset, measured on 1280×720 test clips
# (bench/bench_video.py). x264's default (medium) took as long per frame as the net on 2 cores;
# veryfast at CRF 18 with a diamond search, one subpixel pass and superfast's partitions costs 7 ms
# of CPU a frame on the pan clip against veryfast's 14 (19 against 35 on the grainy still shot),
# files at most 4 % larger, PSNR within 0.15 dB. One thread: the net's BLAS threads already hold
# every core, and x264's frame threads, running behind them, slowed the next batch more than they
# saved (video ÷ stills 81–86 % against 84–90 %).
ENCODER_OPTIONS = {"libx264": {"preset": "veryfast", "crf": "18",
                               "x264-params": "subme=1:me=dia:partitions=i8x8,i4x4:threads=1"},
                   "libvpx-vp9": {"deadline": "realtime", "cpu-used": "8", "crf": "24", "b": "0"}}

BT601, LIMITED_RANGE = 6, 1  # FFmpeg's AVCOL_SPC_SMPTE170M, AVCOL_RANGE_MPEG


class VideoError(ValueError):
    """A video that cannot be (fully) colorized; the message names the file and the reason."""


def probe(path):
    """{width, height, fps, frames, duration, audio} if FFmpeg finds a video stream in the file,
    else None (not a video, or no video stream: see probe_error)."""
    import av
    try:
        with av.open(str(path)) as container:
            if not container.streams.video:
                return None
            stream = container.streams.video[0]
            duration = float(stream.duration * stream.time_base) if stream.duration else \
                (container.duration / 1e6 if container.duration else None)
            fps = float(stream.average_rate) if stream.average_rate else None
            return {"width": stream.codec_context.width, "height": stream.codec_context.height, "fps": fps,
                    "frames": stream.frames or frames_in_range(duration, fps),
                    "duration": duration, "audio": bool(container.streams.audio)}
    except (av.FFmpegError, OSError, ValueError):
        return None


def classify(path):
    """'photo', 'video', or 'no video' (a media file FFmpeg reads with no video stream), by the
    file's content; anything else counts as a photo, for the photo reader to judge."""
    from colornet.photo_io import IMAGE_SUFFIXES, looks_like_image
    # A damaged file named as a photo is the photo reader's to report (FFmpeg reads almost any
    # text as a "tty" video).
    if looks_like_image(path) or pathlib.Path(path).suffix.lower() in IMAGE_SUFFIXES:
        return "photo"
    if probe(path) is not None:
        return "video"
    if has_only_other_streams(path):
        return "no video"
    # Named as a video but unreadable (truncated, say): the video reader says why.
    return "video" if pathlib.Path(path).suffix.lower() in VIDEO_SUFFIXES else "photo"


def has_only_other_streams(path):
    """True for a file FFmpeg reads that has no video stream (audio only, subtitles…)."""
    import av
    try:
        with av.open(str(path)) as container:
            return not container.streams.video and bool(container.streams)
    except (av.FFmpegError, OSError, ValueError):
        return False


def colorize_video(colorizer, source, target, video_format="mp4", smoothing=0.9, motion=True, start=0.0,
                   duration=None, batch=8, max_pixels=None, progress=None):
    """Colorize source into target (written as target's partial twin, renamed at the end).
    Returns (frames written, the frames where a scene cut was found). Raises VideoError; if the
    input breaks off after some frames, those are written first and the error says how many.
    (The net runs here, batch after batch: in a process of its own, one batch ahead of the
    encoding, it was slower on 2 cores; docs/experiments.md.)"""
    import av
    source, target = pathlib.Path(source), pathlib.Path(target)
    encoder, pixel_format, audio_ok, audio_fallback = CONTAINERS[video_format]
    try:
        reader = av.open(str(source))
    except (av.FFmpegError, OSError) as error:
        raise VideoError(f"{source}: not a readable video ({error})") from None
    staging = target.with_name(f".{target.name}.partial-{os.getpid()}")
    try:
        if not reader.streams.video:
            raise VideoError(f"{source}: has no video stream")
        video = reader.streams.video[0]
        width, height = video.codec_context.width, video.codec_context.height
        try:
            check_pixels(width, height, max_pixels, str(source))
        except ValueError as error:
            raise VideoError(str(error)) from None
        rate = video.average_rate or fractions.Fraction(25)
        audio = reader.streams.audio[0] if reader.streams.audio else None
        end = start + duration if duration else None
        if start > 0:
            reader.seek(int(start / video.time_base), stream=video, backward=True)
        with av.open(str(staging), "w", format=video_format) as writer:
            out_video = writer.add_stream(encoder, rate=rate)
            out_video.width, out_video.height, out_video.pix_fmt = width + width % 2, height + height % 2, pixel_format
            out_video.time_base = video.time_base
            out_video.options = ENCODER_OPTIONS[encoder]
            # What the frames are (BT.601 matrix, limited range): untagged HD is taken as BT.709.
            out_video.codec_context.colorspace, out_video.codec_context.color_range = BT601, LIMITED_RANGE
            out_audio = _audio_stream(writer, audio, audio_ok, audio_fallback)
            pipeline = _Pipeline(colorizer, ChromaSmoother(smoothing, motion), writer, out_video, video, start,
                                 progress)
            pending = []
            streams = [video] + ([audio] if audio is not None and out_audio is not None else [])
            broken = None
            try:
                for packet in reader.demux(*streams):
                    if packet.stream is video:
                        for frame in packet.decode():
                            time = float(frame.pts * video.time_base) if frame.pts is not None else None
                            if time is not None and (time < start - 1e-6 or (end is not None and time >= end - 1e-6)):
                                continue
                            pending.append(frame)
                            if len(pending) >= batch:
                                pipeline.add(pending)
                                pending = []
                    elif packet.dts is not None:
                        _copy_audio(packet, writer, out_audio, audio, start, end)
            except av.FFmpegError as error:
                broken = error  # what was decoded before the damage is still written below
            written = pipeline.finish(pending)
            if written:  # an encoder that was given no frame cannot be flushed
                _finish(writer, out_video, out_audio)
        if written == 0:
            raise VideoError(f"{source}: no frames to colorize (check --start and --duration)"
                             + (f" ({broken})" if broken else ""))
        os.replace(staging, target)
        if broken is not None:
            raise VideoError(f"{source}: the video breaks off after {written} frames ({broken}); "
                             f"those {written} frames were written to {target}")
        expected = _expected_frames(reader, video, start, duration)
        if expected and written < expected - 2:
            raise VideoError(f"{source}: the video breaks off after {written} of its {expected} frames; "
                             f"those {written} frames were written to {target}")
        return written, pipeline.smoother.cuts
    finally:
        reader.close()
        if staging.exists():
            staging.unlink()


def frames_in_range(seconds, fps, start=0.0, duration=None):
    """Frames of a video of `seconds` at `fps` from `start` for `duration` (to the end if None),
    or None when the header says neither."""
    if not seconds or not fps:
        return None
    seconds = max(0.0, min(seconds - start, duration) if duration else seconds - start)
    return round(seconds * fps)


def _expected_frames(reader, video, start, duration):
    """Frames the header promises for the range asked for, or None if it does not say."""
    seconds = float(video.duration * video.time_base) if video.duration else \
        (reader.duration / 1e6 if reader.duration else None)
    return frames_in_range(seconds, float(video.average_rate or 0), start, duration)


def _audio_stream(writer, audio, allowed, fallback):
    """(output stream, whether it re-encodes): copied where the container takes the codec."""
    if audio is None:
        return None
    if audio.codec_context.name in allowed:
        return writer.add_stream_from_template(audio), False
    log.info("audio %s cannot go into this container as it is; re-encoding it", audio.codec_context.name)
    import av
    codec = av.Codec(fallback, "w")
    rates = codec.audio_rates or []
    rate = audio.codec_context.sample_rate
    if rates and rate not in rates:  # Opus takes 48 kHz and a few lower rates only
        rate = max(rates)
    stream = writer.add_stream(fallback, rate=rate)
    channels = audio.codec_context.layout.nb_channels
    # A layout with no channel order ("1 channels") makes encoders refuse it: name the usual one.
    stream.layout = {1: "mono", 2: "stereo"}.get(channels, audio.codec_context.layout.name)
    stream.format = codec.audio_formats[0].name
    return stream, True


def _copy_audio(packet, writer, out_audio, audio, start, end):
    if out_audio is None:
        return
    out_audio, transcode = out_audio
    time = float(packet.pts * audio.time_base) if packet.pts is not None else 0.0
    if time < start - 1e-6 or (end is not None and time >= end - 1e-6):
        return
    shift = int(round(start / audio.time_base))
    if transcode:
        for frame in packet.decode():
            frame.pts = frame.pts - shift if frame.pts is not None else None
            writer.mux(out_audio.encode(frame))
        return
    packet.pts -= shift
    packet.dts -= shift
    packet.stream = out_audio
    writer.mux(packet)


class _Pipeline:
    """Batches of decoded frames → colour → smoothing → encoder."""

    def __init__(self, colorizer, smoother, writer, out_video, video, start, progress):
        self.colorizer, self.smoother, self.writer, self.out_video = colorizer, smoother, writer, out_video
        self.video, self.shift, self.progress = video, int(round(start / video.time_base)), progress
        self.written = 0

    def add(self, frames):
        if not frames:
            return
        lums = [luminance(frame.to_ndarray(format="bgr24"), self.colorizer.model.family) for frame in frames]
        batch = self.colorizer.net_batch(lums)
        self._write(frames, lums, batch, self.colorizer.chroma_of(batch))

    def finish(self, frames):
        """The last frames; returns the frames written."""
        self.add(frames)
        return self.written

    def _write(self, frames, lums, batch, chromas):
        import av
        family = self.colorizer.model.family
        for frame, lum, net_input, chroma in zip(frames, lums, batch, chromas):
            small = small_luminance(net_input[0], chroma.shape[-1], family)
            result = compose(lum, self.smoother.update(chroma, small), family, self.colorizer.guided,
                             self.colorizer.dark_limit)
            if result.shape[0] % 2 or result.shape[1] % 2:  # 4:2:0 needs even sides
                result = cv2.copyMakeBorder(result, 0, result.shape[0] % 2, 0, result.shape[1] % 2,
                                            cv2.BORDER_REPLICATE)
            # OpenCV's BGR→I420 is BT.601 limited range, as the stream is tagged; 0.2 ms a frame at
            # 1280×720 against swscale's 1.6, and closer to the BGR after decoding (1.4 against 2.3
            # levels mean error).
            out = av.VideoFrame.from_ndarray(cv2.cvtColor(result, cv2.COLOR_BGR2YUV_I420), format="yuv420p")
            out.pts = frame.pts - self.shift if frame.pts is not None else None
            out.time_base = self.video.time_base
            self.writer.mux(self.out_video.encode(out))
        self.written += len(frames)
        if self.progress is not None:
            self.progress.update(len(frames))


def small_luminance(net_input, side, family):
    """The luminance at the chroma's side×side as uint8, for the smoother's cut detection and
    optical flow: from the net's input (already area-resampled), not the full frame, which cost
    1.8 ms a frame at 1280×720 against 0.01 ms (within one level of it)."""
    small = cv2.resize(net_input, (side, side), interpolation=cv2.INTER_AREA)
    return np.clip(small * families.family(family).lum_to_8bit + 0.5, 0, 255).astype(np.uint8)


def _finish(writer, out_video, out_audio):
    writer.mux(out_video.encode(None))
    if out_audio is not None and out_audio[1]:
        writer.mux(out_audio[0].encode(None))
