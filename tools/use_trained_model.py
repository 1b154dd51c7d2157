"""Colorize black-and-white photos with a trained colornet model.

    python tools/use_trained_model.py                       # data/samples/ → out/, default model
    python tools/use_trained_model.py old/*.jpg -o coloured --side-by-side
    python tools/use_trained_model.py scan.tif --model prototxt/deploy_color_lite.prototxt \\
        --weights models/snapshots/color_lite_iter_1500.caffemodel

Inputs are files, folders and globs of anything OpenCV reads (grey, colour — greyed first —,
palette, RGBA, 16-bit; JPEG EXIF orientation is applied). Each output keeps the input's
full-resolution luminance and adds the predicted colour, upsampled smoothly. An unreadable
input is reported and skipped; the exit status is 1 if any input failed.
"""
import argparse
import glob
import logging
import pathlib
import sys

if __package__ in (None, ""):  # run as `python tools/use_trained_model.py`: make the repo importable
    sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1]))

import cv2
import numpy as np

from tools.colorize import DEFAULT_MODEL, DEFAULT_TEMPERATURE, Colorizer, Model, ModelError, encode
from tools.common import REPO_ROOT, atomic_write_bytes, setup_logging
from tools.photo_io import DEFAULT_MAX_PIXELS, IMAGE_SUFFIXES, UnreadableImage, list_images, read_bgr

log = logging.getLogger("use_trained_model")
SAMPLES = REPO_ROOT / "data" / "samples"


def expand_inputs(inputs):
    """Globs expanded (also where the shell did not), then files/folders/lists as photo_io lists them."""
    expanded, missing = [], []
    for item in inputs:
        if glob.has_magic(item):
            matches = sorted(glob.glob(item, recursive=True))
            if not matches:
                missing.append(f"{item}: no file matches this pattern")
            expanded.extend(matches)
        elif not pathlib.Path(item).exists():
            missing.append(f"{item}: no such file or folder")
        else:
            expanded.append(item)
    from tools.video import VIDEO_SUFFIXES
    return list_images(expanded, IMAGE_SUFFIXES | VIDEO_SUFFIXES) if expanded else [], missing


def is_grey(image):
    return image.ndim == 2 or bool(np.array_equal(image[..., 0], image[..., 1])
                                   and np.array_equal(image[..., 1], image[..., 2]))


def as_bgr(image):
    return cv2.cvtColor(image, cv2.COLOR_GRAY2BGR) if image.ndim == 2 else image


def side_by_side(grey, result, original=None):
    panels = [cv2.cvtColor(cv2.cvtColor(grey, cv2.COLOR_BGR2GRAY), cv2.COLOR_GRAY2BGR), result]
    if original is not None:
        panels.append(original)
    gap = np.full((grey.shape[0], max(4, grey.shape[1] // 100), 3), 255, np.uint8)
    row = [panels[0]]
    for panel in panels[1:]:
        row += [gap, panel]
    return np.hstack(row)


def contact_sheet(pairs, height=180, gap=6):
    """Before | after pairs laid out like justified text: each pair scaled to a common height,
    pairs filled into rows of about the same width, each row scaled to fill that width exactly,
    so the sheet has no empty margins whatever the photos' aspect ratios."""
    tiles = []
    for before, after in pairs:
        size = (max(1, round(before.shape[1] * height / before.shape[0])), height)
        grey = cv2.cvtColor(cv2.cvtColor(before, cv2.COLOR_BGR2GRAY), cv2.COLOR_GRAY2BGR)
        tiles.append(np.hstack([cv2.resize(grey, size, interpolation=cv2.INTER_AREA),
                                np.full((height, gap, 3), 255, np.uint8),
                                cv2.resize(after, size, interpolation=cv2.INTER_AREA)]))
    # Rows: about as many as make the sheet 1.5 times as wide as tall; tiles split among them in
    # order at the nearest cumulative widths, so rows are about equally long before scaling.
    widths = np.cumsum([tile.shape[1] + gap for tile in tiles])
    count = max(1, min(len(tiles), round(np.sqrt(widths[-1] / (1.5 * (height + gap))))))
    cuts = [0] + [int(np.argmin(np.abs(widths - widths[-1] * k / count))) + 1 for k in range(1, count)] + [len(tiles)]
    rows = [tiles[a:b] for a, b in zip(cuts, cuts[1:]) if b > a]
    width = max(sum(tile.shape[1] + gap for tile in row) - gap for row in rows)
    lines = []
    for row in rows:
        spacer = np.full((height, gap, 3), 255, np.uint8)
        joined = np.hstack([part for tile in row for part in (tile, spacer)][:-1])
        line = cv2.resize(joined, (width, max(1, round(height * width / joined.shape[1]))), interpolation=cv2.INTER_AREA)
        lines.append(np.pad(line, ((0, gap), (0, 0), (0, 0)), constant_values=255))
    return np.vstack(lines)[:-gap]


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
    from tools.video import classify
    photos, videos = [], []
    for path in paths:
        kind = classify(path)
        if kind == "no video":
            failures.append(f"{path}: has no video stream")
            log.error("%s: has no video stream (an audio or other media file); skipped", path)
        else:
            (videos if kind == "video" else photos).append(path)
    return photos, videos


def colorize_videos(videos, colorizer, args, max_pixels, failures):
    from tqdm import tqdm
    from tools.video import VideoError, colorize_video, frames_in_range, probe
    taken = set()
    for path in videos:
        info = probe(path) or {}
        frames = frames_in_range(info.get("duration"), info.get("fps"), args.start, args.duration)
        target = output_path(path, args.output, f".{args.video_format}", taken)
        with tqdm(total=frames, unit="frame", disable=args.quiet, desc=pathlib.Path(path).name) as progress:
            try:
                written, cuts = colorize_video(colorizer, path, target, args.video_format, args.temporal_smoothing,
                                               not args.no_motion, args.start, args.duration, args.batch, max_pixels,
                                               progress)
                log.info("wrote %s: %d frames, %d scene cut(s)", target, written, len(cuts))
            except VideoError as error:
                failures.append(str(error))
                log.error("%s", error)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("inputs", nargs="*", help="photos, folders or globs (default: data/samples/)")
    parser.add_argument("-o", "--output", type=pathlib.Path, default=pathlib.Path("out"), help="output folder (default out/)")
    parser.add_argument("--model", default=None, help=f"model name in models/ or a deploy .prototxt (default {DEFAULT_MODEL})")
    parser.add_argument("--weights", help="weights .caffemodel (default: the model folder's weights.caffemodel)")
    parser.add_argument("--backend", choices=("caffe", "opencv"), default="caffe",
                        help="pycaffe (default) or OpenCV's dnn, which needs no Caffe")
    parser.add_argument("--decode", choices=("mean", "argmax"), default="mean",
                        help="YUV-64: annealed mean over the classes' colours (default) or argmax (the original's)")
    parser.add_argument("--temperature", type=float, default=DEFAULT_TEMPERATURE,
                        help="annealed-mean temperature: lower is more vivid, 1 is the plain mean (default %(default)s)")
    parser.add_argument("--upsampling", choices=("guided", "cubic"), default="guided",
                        help="chroma to full size: guided by the photo's own luminance, so colour keeps to "
                             "edges (default), or plain cubic")
    parser.add_argument("--max-pixels", type=float, default=DEFAULT_MAX_PIXELS / 1e6, metavar="MP",
                        help="refuse inputs over this many megapixels, read from the file header before "
                             "decoding (default %(default)g; 0: no limit)")
    parser.add_argument("--format", choices=("png", "jpg"), default="png", help="output format (default png)")
    parser.add_argument("--side-by-side", action="store_true",
                        help="write grey | result (| original, for colour inputs) in one image")
    parser.add_argument("--sheet", type=pathlib.Path,
                        help="also write one picture of every input before | after, one row each, here")
    parser.add_argument("--batch", type=int, default=8, help="photos or video frames per forward pass (default 8)")
    video = parser.add_argument_group("video (any file FFmpeg reads with a video stream, recognised by content)")
    video.add_argument("--video-format", choices=("mp4", "webm"), default="mp4",
                       help="H.264 in MP4 (default) or VP9 in WebM; audio is copied where the container takes it")
    video.add_argument("--temporal-smoothing", type=float, default=0.9, metavar="S",
                       help="keep this share of the running colour average at each frame, so still content keeps "
                            "its colour (0 = frame by frame; default %(default)s)")
    video.add_argument("--no-motion", action="store_true",
                       help="do not move the running average along with the picture (optical flow)")
    video.add_argument("--start", type=float, default=0.0, help="colour from this second on (default 0)")
    video.add_argument("--duration", type=float, help="colour this many seconds (default: to the end)")
    parser.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    args = parser.parse_args(argv)
    setup_logging()
    if args.temperature <= 0:
        parser.error("--temperature must be positive")
    if args.batch < 1:
        parser.error("--batch must be at least 1")
    if args.max_pixels < 0:
        parser.error("--max-pixels must be 0 (no limit) or positive")
    max_pixels = int(args.max_pixels * 1e6)
    if not 0 <= args.temporal_smoothing < 1:
        parser.error("--temporal-smoothing must be at least 0 and below 1")
    if args.start < 0 or (args.duration is not None and args.duration <= 0):
        parser.error("--start must be 0 or more and --duration positive")

    photos, failures = expand_inputs(args.inputs or [str(SAMPLES)])
    for failure in failures:
        log.error("%s", failure)
    try:
        model = Model.resolve(args.model, args.weights)
        colorizer = Colorizer(model, args.backend, args.temperature, args.decode,
                              guided=args.upsampling == "guided", max_pixels=max_pixels)
    except ModelError as error:
        log.error("%s", error)
        return 2
    if not photos:
        log.error("no photos to colorize in %s", " ".join(args.inputs) or SAMPLES)
        return 1
    photos, videos = split_videos(photos, failures)
    if videos:
        args.output.mkdir(parents=True, exist_ok=True)
        colorize_videos(videos, colorizer, args, max_pixels, failures)
    if not photos:
        return 1 if failures else 0
    args.output.mkdir(parents=True, exist_ok=True)
    log.info("%s model %s on %s: %d photo(s) → %s", model.family, model.weights, args.backend, len(photos), args.output)

    from tqdm import tqdm
    taken, written, pairs = set(), 0, []
    with tqdm(total=len(photos), unit="photo", disable=args.quiet, desc="colorize") as progress:
        for group in batches(photos, args.batch):
            readable = []
            for path in group:
                try:
                    readable.append((path, read_bgr(path, max_pixels=max_pixels, keep_grey=True)))
                except UnreadableImage as error:
                    failures.append(str(error))
                    log.error("%s", error)
                    progress.update()
            if not readable:
                continue
            results = colorizer.colorize([bgr for _, bgr in readable])
            for (path, bgr), result in zip(readable, results):
                target = output_path(path, args.output, f".{args.format}", taken)
                if args.side_by_side:
                    image = side_by_side(as_bgr(bgr), result, None if is_grey(bgr) else bgr)
                else:
                    image = result
                if args.sheet:
                    pairs.append((as_bgr(bgr), result))
                try:
                    write_image(target, image, args.format)
                    written += 1
                except OSError as error:
                    failures.append(str(error))
                    log.error("%s", error)
                progress.update()
    if pairs:
        write_image(args.sheet, contact_sheet(pairs), args.sheet.suffix.lstrip(".").lower().replace("jpeg", "jpg") or "png")
        log.info("wrote the before/after sheet %s", args.sheet)
    log.info("wrote %d image(s) to %s%s", written, args.output,
             f"; {len(failures)} input(s) failed" if failures else "")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
