"""Two models side by side as a user runs them: the whole command line (`use_trained_model.py`, a
fresh process each time, model loading included) on bench_infer's photos (grey JPEGs of at most
512 px), rounds alternating which model goes first, and the peak resident memory of the command
line on those photos and on one 12-megapixel photo. Results go to bench/RESULTS.md.

    python bench/bench_models.py --models default classic [--rounds 5]

The machine is shared and its speed drifts, so each round's ratio is taken within the round and
the median of the rounds is reported.
"""
import argparse
import logging
import pathlib
import statistics
import tempfile

import cv2

from colornet.benchmark.memory import command_peak_mb
from colornet.benchmark.rates import command_line_rate
from colornet.benchmark.results import publish
from colornet.benchmark.samples import backend_photos

log = logging.getLogger("bench_models")


def camera_photo(folder):
    """A 4000×3000 grey JPEG of scikit-image's astronaut (real content for the decoder and encoder)."""
    import skimage
    photo = cv2.imread(str(pathlib.Path(skimage.__file__).parent / "data/astronaut.png"), cv2.IMREAD_GRAYSCALE)
    path = folder / "camera.jpg"
    cv2.imwrite(str(path), cv2.resize(photo, (4000, 3000), interpolation=cv2.INTER_CUBIC), [cv2.IMWRITE_JPEG_QUALITY, 90])
    return path


def measure(models, photos, rounds, scratch):
    """{model: {"per_photo": [s per round], "ratios": [this ÷ the first model's, per round]}}."""
    times = {model: [] for model in models}
    for round_number in range(rounds):
        order = models if round_number % 2 == 0 else models[::-1]
        for model in order:
            rate, written = command_line_rate(photos, scratch / f"{model}-{round_number}", "--model", model)
            times[model].append(1.0 / rate)
            log.info("round %d, %s: %.3f s a photo (%d photos)", round_number + 1, model, 1.0 / rate, written)
    first = models[0]
    return {model: {"per_photo": times[model],
                    "ratios": [mine / theirs for mine, theirs in zip(times[model], times[first])]} for model in models}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--models", nargs=2, required=True, metavar=("BASE", "OTHER"),
                        help="two model names in models/; ratios are OTHER ÷ BASE")
    parser.add_argument("--photos", type=int, default=40, help="photos of at most 512 px (default 40)")
    parser.add_argument("--rounds", type=int, default=5, help="rounds, alternating which model goes first (default 5)")
    parser.add_argument("--no-write", action="store_true", help="print, leave bench/RESULTS.md alone")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(name)s: %(message)s")
    with tempfile.TemporaryDirectory() as folder:
        scratch = pathlib.Path(folder)
        (scratch / "in").mkdir()
        photos = backend_photos(scratch / "in", args.photos)
        timings = measure(args.models, photos, args.rounds, scratch)
        camera = camera_photo(scratch)
        peaks = {model: {"photos": command_peak_mb([*photos, "-o", scratch / f"peak-{model}", "-q", "--model", model]),
                         "camera": command_peak_mb([camera, "-o", scratch / f"cam-{model}", "-q", "--model", model])}
                 for model in args.models}
    base, other = args.models
    lines = [f"The whole command line (a fresh process each time, model loading included) on {len(photos)} grey "
             f"JPEGs of at most 512 px (bench_infer's photos), {args.rounds} rounds alternating which model goes "
             "first; per-round ratios, medians. Peak memory: VmHWM of the command line on those photos and on "
             "one 4000×3000 photo.", "",
             "| model | seconds a photo (median) | ÷ " + base + " (each round) | peak MB, photos | peak MB, 12 MP |",
             "|---|---|---|---|---|"]
    for model in args.models:
        row = timings[model]
        lines.append(f"| {model} | {statistics.median(row['per_photo']):.3f} | "
                     f"**{statistics.median(row['ratios']):.2f}** ({', '.join(f'{r:.2f}' for r in row['ratios'])}) | "
                     f"{peaks[model]['photos']:.0f} | {peaks[model]['camera']:.0f} |")
    lines += ["", f"{other} against {base}: {statistics.median(timings[other]['ratios']):.2f}× the time a photo, "
              f"peak memory {peaks[other]['photos'] - peaks[base]['photos']:+.0f} MB on the photos and "
              f"{peaks[other]['camera'] - peaks[base]['camera']:+.0f} MB on the 12 MP photo."]
    publish("bench_models: two models side by side", "\n".join(lines), args.no_write)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
