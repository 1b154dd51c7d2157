"""Reading video: what a file is (a video, an audio-only file, not a video) and its frames' count
and rate, through PyAV."""
import pathlib

VIDEO_SUFFIXES = {".mp4", ".mkv", ".avi", ".mov", ".webm", ".m4v", ".mpg", ".mpeg", ".ogv", ".wmv", ".flv", ".ts"}


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


def frames_in_range(seconds, fps, start=0.0, duration=None):
    """Frames of a video of `seconds` at `fps` from `start` for `duration` (to the end if None),
    or None when the header says neither."""
    if not seconds or not fps:
        return None
    seconds = max(0.0, min(seconds - start, duration) if duration else seconds - start)
    return round(seconds * fps)


def expected_frames(reader, video, start, duration):
    """Frames the header promises for the range asked for, or None if it does not say."""
    seconds = float(video.duration * video.time_base) if video.duration else \
        (reader.duration / 1e6 if reader.duration else None)
    return frames_in_range(seconds, float(video.average_rate or 0), start, duration)
