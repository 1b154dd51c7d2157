"""Colorizing video: decode (video_source.py), colour in batches through colorize/pipeline.py with
the colour smoothed over time (video_frames.py, colorize/temporal.py), encode with the audio
copied (video_writer.py). Used by tools/use_trained_model.py.

PyAV (FFmpeg inside its wheel: no system FFmpeg, the same codecs everywhere) reads any container
FFmpeg reads and writes H.264 in MP4 or VP9 in WebM. Frames are streamed in batches of --batch:
memory stays flat however long the video. The output is written beside its target and renamed
when complete, so an interrupted run leaves no half-written file.
"""
import fractions
import logging
import os
import pathlib

from colornet.colorize.temporal import ChromaSmoother
from colornet.colorize.video_frames import FramePipeline
from colornet.colorize.video_source import VideoError, expected_frames
from colornet.colorize.video_writer import CONTAINERS, ENCODER_OPTIONS, audio_stream, copy_audio, finish_streams
from colornet.photo_io import check_pixels

log = logging.getLogger("video")
BT601, LIMITED_RANGE = 6, 1  # FFmpeg's AVCOL_SPC_SMPTE170M, AVCOL_RANGE_MPEG


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
            out_audio = audio_stream(writer, audio, audio_ok, audio_fallback)
            pipeline = FramePipeline(colorizer, ChromaSmoother(smoothing, motion), writer, out_video, video, start,
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
                        copy_audio(packet, writer, out_audio, audio, start, end)
            except av.FFmpegError as error:
                broken = error  # what was decoded before the damage is still written below
            written = pipeline.finish(pending)
            if written:  # an encoder that was given no frame cannot be flushed
                finish_streams(writer, out_video, out_audio)
        if written == 0:
            raise VideoError(f"{source}: no frames to colorize (check --start and --duration)"
                             + (f" ({broken})" if broken else ""))
        os.replace(staging, target)
        if broken is not None:
            raise VideoError(f"{source}: the video breaks off after {written} frames ({broken}); "
                             f"those {written} frames were written to {target}")
        expected = expected_frames(reader, video, start, duration)
        if expected and written < expected - 2:
            raise VideoError(f"{source}: the video breaks off after {written} of its {expected} frames; "
                             f"those {written} frames were written to {target}")
        return written, pipeline.smoother.cuts
    finally:
        reader.close()
        if staging.exists():
            staging.unlink()


