"""Colorize files: photos and videos in, results written into a folder, named after the inputs.

The command line (tools/use_trained_model.py) is argument parsing over colorize_files; every
other front end that writes files calls the same function, so the same inputs and settings give
the same bytes.
"""
import dataclasses
import glob
import logging
import pathlib

from colornet.colorize.hints import HintError, parse_hints
from colornet.colorize.pipeline import encode
from colornet.colorize.sheets import as_bgr, contact_sheet, is_grey, side_by_side
from colornet.common import REPO_ROOT, atomic_write_bytes
from colornet.photo_io import IMAGE_SUFFIXES, UnreadableImage, list_images, read_bgr

log = logging.getLogger("use_trained_model")
SAMPLES = REPO_ROOT / "data" / "samples"


@dataclasses.dataclass
class OutputSettings:
    """How results are written: photo format, side-by-side panels, one before/after sheet, batch."""
    image_format: str = "png"
    side_by_side: bool = False
    sheet: pathlib.Path = None
    batch: int = 8
    quiet: bool = False
    hints: pathlib.Path = None  # a hints JSON file (hints.parse_hints) for the one photo coloured


@dataclasses.dataclass
class VideoSettings:
    """How videos are coloured (colorize.video.colorize_video's arguments of the same names)."""
    video_format: str = "mp4"
    smoothing: float = 0.9
    motion: bool = True
    start: float = 0.0
    duration: float = None


@dataclasses.dataclass
class Report:
    written: int = 0
    failures: list = dataclasses.field(default_factory=list)


def expand_inputs(inputs):
    """Globs expanded (also where the shell did not), then files/folders/lists as photo_io lists
    them. Returns (paths, one line per input that names nothing)."""
    from colornet.colorize.video_source import VIDEO_SUFFIXES
    expanded, missing = [], []
    for item in map(str, inputs):
        if glob.has_magic(item):
            matches = sorted(glob.glob(item, recursive=True))
            if not matches:
                missing.append(f"{item}: no file matches this pattern")
            expanded.extend(matches)
        elif not pathlib.Path(item).exists():
            missing.append(f"{item}: no such file or folder")
        else:
            expanded.append(item)
    return list_images(expanded, IMAGE_SUFFIXES | VIDEO_SUFFIXES) if expanded else [], missing


def output_path(photo, out_dir, suffix, taken):
    stem = pathlib.Path(photo).stem
    candidate, number = out_dir / f"{stem}{suffix}", 2
    while candidate in taken:
        candidate, number = out_dir / f"{stem}-{number}{suffix}", number + 1
    taken.add(candidate)
    return candidate


def write_image(path, image, image_format):
    try:
        payload = encode(image, image_format)
    except ValueError as error:
        raise OSError(f"{path}: {error}") from None
    atomic_write_bytes(path, payload)


def batches(items, size):
    for start in range(0, len(items), size):
        yield items[start:start + size]


def split_videos(paths, failures):
    """(photos, videos) by the files' content; media files without a video stream are refused."""
    from colornet.colorize.video_source import classify
    photos, videos = [], []
    for path in paths:
        kind = classify(path)
        if kind == "no video":
            failures.append(f"{path}: has no video stream")
            log.error("%s: has no video stream (an audio or other media file); skipped", path)
        else:
            (videos if kind == "video" else photos).append(path)
    return photos, videos


def colorize_videos(videos, colorizer, output, video, batch, quiet, failures):
    from tqdm import tqdm
    from colornet.colorize.video import colorize_video
    from colornet.colorize.video_source import VideoError, frames_in_range, probe
    taken, written = set(), 0
    for path in videos:
        info = probe(path) or {}
        frames = frames_in_range(info.get("duration"), info.get("fps"), video.start, video.duration)
        target = output_path(path, output, f".{video.video_format}", taken)
        with tqdm(total=frames, unit="frame", disable=quiet, desc=pathlib.Path(path).name) as progress:
            try:
                count, cuts = colorize_video(colorizer, path, target, video.video_format, video.smoothing,
                                             video.motion, video.start, video.duration, batch,
                                             colorizer.max_pixels, progress)
                log.info("wrote %s: %d frames, %d scene cut(s)", target, count, len(cuts))
                written += 1
            except VideoError as error:
                failures.append(str(error))
                log.error("%s", error)
    return written


def read_hints(path, photo, family):
    """The hints of a hints file for this photo, or None without one."""
    if path is None:
        return None
    try:
        text = pathlib.Path(path).read_text()
    except OSError as error:
        raise OSError(f"{path}: cannot read the hints file: {error.strerror}") from None
    return parse_hints(text, photo.shape[1], photo.shape[0], family, str(path))


def colorize_photos(photos, colorizer, output, settings, failures, names=None, outcomes=None):
    """Colour photo files in batches into `output`; returns how many were written. names: the
    output path of each photo (default: named as output_path names them, in order); outcomes: a
    dict to fill with each photo's error, or None when it was written."""
    from tqdm import tqdm
    taken, written, pairs = set(), 0, []
    with tqdm(total=len(photos), unit="photo", disable=settings.quiet, desc="colorize") as progress:
        for group in batches(photos, settings.batch):
            readable = []
            for path in group:
                try:
                    readable.append((path, read_bgr(path, max_pixels=colorizer.max_pixels, keep_grey=True)))
                except UnreadableImage as error:
                    failures.append(str(error))
                    log.error("%s", error)
                    if outcomes is not None:
                        outcomes[path] = str(error)
                    progress.update()
            if not readable:
                continue
            try:
                hints = [read_hints(settings.hints, bgr, colorizer.model.family) for _, bgr in readable]
            except (HintError, OSError) as error:
                failures.append(str(error))
                log.error("%s", error)
                if outcomes is not None:
                    outcomes.update({path: str(error) for path, _ in readable})
                progress.update(len(readable))
                continue
            results = colorizer.colorize([bgr for _, bgr in readable], hints)
            for (path, bgr), result in zip(readable, results):
                target = names[path] if names else output_path(path, output, f".{settings.image_format}", taken)
                image = side_by_side(as_bgr(bgr), result, None if is_grey(bgr) else bgr) \
                    if settings.side_by_side else result
                if settings.sheet:
                    pairs.append((as_bgr(bgr), result))
                try:
                    write_image(target, image, settings.image_format)
                    written += 1
                    error = None
                except OSError as failure:
                    error = str(failure)
                    failures.append(error)
                    log.error("%s", error)
                if outcomes is not None:
                    outcomes[path] = error
                progress.update()
    if pairs:
        sheet = pathlib.Path(settings.sheet)
        write_image(sheet, contact_sheet(pairs), sheet.suffix.lstrip(".").lower().replace("jpeg", "jpg") or "png")
        log.info("wrote the before/after sheet %s", sheet)
    return written


def colorize_files(paths, output, colorizer, settings=None, video=None):
    """Colour every photo and video in `paths` (files, as expand_inputs lists them) into the folder
    `output` with `colorizer` (pipeline.Colorizer). A file that cannot be read or written is
    logged, counted in the report's failures and skipped; the others go on."""
    settings, video = settings or OutputSettings(), video or VideoSettings()
    output = pathlib.Path(output)
    report = Report()
    photos, videos = split_videos(paths, report.failures)
    if videos:
        output.mkdir(parents=True, exist_ok=True)
        report.written += colorize_videos(videos, colorizer, output, video, settings.batch, settings.quiet,
                                          report.failures)
    if photos:
        output.mkdir(parents=True, exist_ok=True)
        log.info("%s model %s on %s: %d photo(s) → %s", colorizer.model.family, colorizer.model.weights,
                 colorizer.runner.name, len(photos), output)
        report.written += colorize_photos(photos, colorizer, output, settings, report.failures)
        log.info("wrote %d image(s) to %s%s", report.written, output,
                 f"; {len(report.failures)} input(s) failed" if report.failures else "")
    return report
