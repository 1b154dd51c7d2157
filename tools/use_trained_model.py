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
import logging
import pathlib
import sys

from colornet.colorize.files import SAMPLES, OutputSettings, VideoSettings, colorize_files, expand_inputs
from colornet.colorize.video_source import VIDEO_SUFFIXES
from colornet.colorize import settings as colour_settings
from colornet.colorize.pipeline import Colorizer
from colornet.colorize.models import DEFAULT_MODEL, Model, ModelError
from colornet.common import setup_logging

log = logging.getLogger("use_trained_model")


def colorize_on_cluster(paths, args, parser):
    from colornet.cluster.archive import ColorizerSettings, colorize_archive
    if args.workers < 1:
        parser.error("--workers must be at least 1")
    if args.hints or args.side_by_side or args.sheet:
        parser.error("--cluster writes plain results: leave out --hints, --side-by-side and --sheet")
    if args.start or args.duration:
        parser.error("--cluster colours whole films: leave out --start and --duration")
    films = [path for path in paths if pathlib.Path(path).suffix.lower() in VIDEO_SUFFIXES]
    photos = [path for path in paths if pathlib.Path(path).suffix.lower() not in VIDEO_SUFFIXES]
    settings = ColorizerSettings(args.model, args.weights, args.backend, args.settings)
    counts = colorize_archive(photos, args.output, settings, OutputSettings(args.format, batch=args.batch),
                              args.cluster, args.workers, progress=not args.quiet, films=films,
                              video_settings=VideoSettings(args.video_format, args.temporal_smoothing,
                                                           not args.no_motion))
    log.info("%s → %s (manifest: %s)", ", ".join(f"{n} {status}" for status, n in sorted(counts.items())),
             args.output, args.output / "manifest.csv")
    return 1 if set(counts) - {"done"} else 0


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("inputs", nargs="*", help="photos, folders or globs (default: data/samples/)")
    parser.add_argument("-o", "--output", type=pathlib.Path, default=pathlib.Path("out"), help="output folder (default out/)")
    parser.add_argument("--model", default=None, help=f"model name in models/ or a deploy .prototxt (default {DEFAULT_MODEL})")
    parser.add_argument("--weights", help="weights .caffemodel (default: the model folder's weights.caffemodel)")
    parser.add_argument("--backend", choices=("opencv", "caffe"), default=None,
                        help="OpenCV's dnn (default: 2.6x faster a photo; pycaffe, with a note, for nets it cannot "
                             "load) or pycaffe")
    colour_settings.add_arguments(parser, hints=True)
    parser.add_argument("--side-by-side", action="store_true",
                        help="write grey | result (| original, for colour inputs) in one image")
    parser.add_argument("--sheet", type=pathlib.Path,
                        help="also write one picture of every input before | after, one row each, here")
    parser.add_argument("--hints", type=pathlib.Path, metavar="HINTS.json",
                        help="colour hints for one photo: a JSON list of {\"x\": 412, \"y\": 230, \"color\": \"#5a8f3c\"} "
                             "in its own pixels (x right, y down; optional \"size\", the patch side, default 6); only "
                             "the colour's chroma is used, the photo keeps its luminance")
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
    archive = parser.add_argument_group("archives (photos and films) on Ray, across machines")
    archive.add_argument("--cluster", metavar="local|ADDRESS",
                         help="colour on Ray: 'local' starts (and stops) a Ray instance on this machine; an address "
                              "joins a running cluster ('auto' inside one, ray://HOST:10001). Resumable: a rerun skips "
                              "the outputs written; OUTPUT/manifest.csv records every input's outcome")
    archive.add_argument("--workers", type=int, default=2,
                         help="with --cluster: actors per machine, each with one loaded model and one CPU "
                              "(default 2; on a cluster, at most each machine's CPUs)")
    parser.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    args = parser.parse_args(argv)
    setup_logging()
    args.settings = colour_settings.from_arguments(args, parser)
    if args.batch < 1:
        parser.error("--batch must be at least 1")
    if not 0 <= args.temporal_smoothing < 1:
        parser.error("--temporal-smoothing must be at least 0 and below 1")
    if args.start < 0 or (args.duration is not None and args.duration <= 0):
        parser.error("--start must be 0 or more and --duration positive")

    paths, failures = expand_inputs(args.inputs or [str(SAMPLES)])
    for failure in failures:
        log.error("%s", failure)
    try:
        model = Model.resolve(args.model, args.weights)
        colorizer = Colorizer(model, args.backend, args.settings)
    except ModelError as error:
        log.error("%s", error)
        return 2
    if not paths:
        log.error("no photos to colorize in %s", " ".join(args.inputs) or SAMPLES)
        return 1
    if args.hints and len(paths) != 1:
        parser.error(f"--hints {args.hints} is for one photo; {len(paths)} inputs were given")
    if args.cluster:
        return colorize_on_cluster(paths, args, parser)
    report = colorize_files(paths, args.output, colorizer,
                            OutputSettings(args.format, args.side_by_side, args.sheet, args.batch, args.quiet, args.hints),
                            VideoSettings(args.video_format, args.temporal_smoothing, not args.no_motion,
                                          args.start, args.duration))
    return 1 if failures or report.failures else 0


if __name__ == "__main__":
    sys.exit(main())
