"""Archives on Ray beside the plain command line, on one machine: the same photos coloured by
`use_trained_model.py`, and by `use_trained_model.py --cluster local --workers N` for N = 1, 2,
side by side in each round (photos/s from the command's start to its end, Ray's start-up included;
peak resident memory of the command's whole process tree). Results go to bench/RESULTS.md.

    python bench/bench_cluster.py [--photos 200] [--rounds 2] [--long-side 640]

Then a film (20 s, a cut every 2.5 s) by the command line and by Ray with 2 actors, side by side.
"""
import argparse
import logging
import pathlib
import re
import shutil
import subprocess
import sys
import tempfile
import time


import cv2
import numpy as np

from colornet.benchmark.memory import tree_rss_mb
from colornet.benchmark.results import publish
from colornet.common import REPO_ROOT
from colornet.photo_io import list_images, read_bgr

log = logging.getLogger("bench_cluster")
FILM_SECONDS = 20


def make_photos(folder, count, long_side):
    sources = list_images([REPO_ROOT / "data/photos/train.txt"])[:count]
    for number, source in enumerate(sources):
        grey = cv2.cvtColor(read_bgr(source), cv2.COLOR_BGR2GRAY)
        scale = long_side / max(grey.shape)
        grey = cv2.resize(grey, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
        cv2.imwrite(str(folder / f"{number:04d}.jpg"), grey, [cv2.IMWRITE_JPEG_QUALITY, 90])
    return len(sources)


def make_film(path, seconds, size=(480, 270), scene_seconds=2.5):
    """A film of train photos, each a scene slowly panned, a cut between scenes, with audio."""
    from colornet.benchmark.clips import FPS, write_clip
    sources = list_images([REPO_ROOT / "data/photos/train.txt"])
    frames, scene = [], round(scene_seconds * FPS)
    for number in range(round(seconds * FPS)):
        if number % scene == 0:
            photo = read_bgr(sources[number // scene])
            photo = cv2.resize(photo, (size[0] + scene, round(photo.shape[0] * (size[0] + scene) / photo.shape[1])),
                               interpolation=cv2.INTER_AREA)
            photo = cv2.resize(photo, (size[0] + scene, size[1]), interpolation=cv2.INTER_AREA)
        shift = number % scene
        frames.append(cv2.cvtColor(cv2.cvtColor(np.ascontiguousarray(photo[:, shift:shift + size[0]]),
                                                cv2.COLOR_BGR2GRAY), cv2.COLOR_GRAY2BGR))
    write_clip(path, frames)
    return len(frames)


def timed_run(arguments, output):
    """(seconds, photos written, peak MB of the process tree, photos/s once Ray was up or None)."""
    shutil.rmtree(output, ignore_errors=True)
    started = time.perf_counter()
    process = subprocess.Popen([sys.executable, str(REPO_ROOT / "tools/use_trained_model.py"), *arguments,
                                "-o", str(output), "-q"], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    peak = 0.0
    while process.poll() is None:
        peak = max(peak, tree_rss_mb(process.pid))
        time.sleep(0.2)
    seconds = time.perf_counter() - started
    errors = process.stderr.read().decode()
    if process.returncode != 0:
        raise RuntimeError(f"{' '.join(arguments)} failed: {errors[-500:]}")
    steady = re.search(r"([\d.]+) photos/s once Ray was up", errors)
    return seconds, len(list(output.glob("*.png"))), peak, float(steady.group(1)) if steady else None


def stage_milliseconds(folder, count=50):
    """Median ms per photo of each stage of the command line's path, in this process, one core's
    worth (OpenCV on one thread): read+decode the JPEG, colour (net and post-processing), encode
    the PNG, write it; and the bytes read and written per photo."""
    from colornet.colorize.models import Model
    from colornet.colorize.pipeline import Colorizer, encode
    cv2.setNumThreads(1)
    colorizer = Colorizer(Model.resolve("default"))
    times = {"read and decode": [], "colour (net, decoding, upsampling)": [], "PNG encode": [], "write": []}
    sizes = {"read": [], "written": []}
    colorizer.colorize([read_bgr(sorted(folder.glob("*.jpg"))[0], keep_grey=True)])  # warm up
    for path in sorted(folder.glob("*.jpg"))[:count]:
        started = time.perf_counter()
        photo = read_bgr(path, keep_grey=True)
        coloured_at = time.perf_counter()
        result = colorizer.colorize([photo])[0]
        encoded_at = time.perf_counter()
        payload = encode(result, "png")
        written_at = time.perf_counter()
        (folder.parent / "stage.png").write_bytes(payload)
        finished = time.perf_counter()
        for key, seconds in zip(times, (coloured_at - started, encoded_at - coloured_at, written_at - encoded_at,
                                        finished - written_at)):
            times[key].append(seconds * 1000)
        sizes["read"].append(path.stat().st_size / 1024)
        sizes["written"].append(len(payload) / 1024)
    cv2.setNumThreads(-1)
    return {key: float(np.median(values)) for key, values in times.items()}, \
        {key: float(np.median(values)) for key, values in sizes.items()}


def film_rates(folder, rounds):
    """{run: [frames/s]} for the film, the command line and Ray with 2 actors side by side."""
    film = folder / "film.mp4"
    frames = make_film(film, FILM_SECONDS)
    cases = {"command line": [], "Ray, 2 actors": ["--cluster", "local", "--workers", "2"]}
    rates = {name: [] for name in cases}
    for round_number in range(rounds):
        for name, extra in cases.items():
            seconds, _, _, _ = timed_run([str(film), *extra], folder / "film_out")
            rates[name].append(frames / seconds)
            log.info("round %d, film, %s: %.1f frames/s", round_number + 1, name, frames / seconds)
    return frames, rates


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--photos", type=int, default=200, help="photos (default 200)")
    parser.add_argument("--large", type=int, default=600, help="photos of the larger folder, run once (default 600)")
    parser.add_argument("--long-side", type=int, default=640, help="their long side (default 640)")
    parser.add_argument("--rounds", type=int, default=2, help="rounds of the three side by side (default 2)")
    parser.add_argument("--no-write", action="store_true", help="print, leave bench/RESULTS.md alone")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(name)s: %(message)s")
    cases = {"command line": [], "Ray, 1 actor": ["--cluster", "local", "--workers", "1"],
             "Ray, 2 actors": ["--cluster", "local", "--workers", "2"]}
    results = {name: [] for name in cases}
    with tempfile.TemporaryDirectory() as scratch:
        scratch = pathlib.Path(scratch)
        (scratch / "in").mkdir()
        count = make_photos(scratch / "in", args.photos, args.long_side)
        for round_number in range(args.rounds):
            for name, extra in cases.items():
                seconds, written, peak, steady = timed_run([str(scratch / "in"), *extra], scratch / "out")
                results[name].append((written / seconds, peak, steady))
                log.info("round %d, %s: %.2f photos/s (%d photos), peak %.0f MB", round_number + 1, name,
                         written / seconds, written, peak)
        # Ray's start and stop are a fixed cost: the same comparison on a larger folder, once.
        (scratch / "large").mkdir()
        large = make_photos(scratch / "large", args.large, args.long_side)
        large_rates = {}
        for name in ("command line", "Ray, 2 actors"):
            seconds, written, _, _ = timed_run([str(scratch / "large"), *cases[name]], scratch / "out")
            large_rates[name] = written / seconds
            log.info("%d photos, %s: %.2f photos/s", large, name, written / seconds)
        film_frames, film = film_rates(scratch, args.rounds)
        stages, sizes = stage_milliseconds(scratch / "in")
    baseline = [rate for rate, _, _ in results["command line"]]
    lines = [f"{count} grey JPEGs (train photos, long side {args.long_side}); default model and settings; each "
             f"command in a fresh process, from its start to its end (model loading, and Ray's start and stop, "
             f"included); {args.rounds} rounds of the three side by side, medians; ÷ command line taken within "
             "each round. Once Ray is up: the actors' rate from the first chunk handed out to the last result "
             "(the command's own log line), without Ray's start and stop. Peak memory: the command's whole "
             "process tree (driver, Ray's services, actors).", "",
             "| run | photos/s | ÷ command line | once Ray is up, photos/s (÷ command line) | peak MB |",
             "|---|---|---|---|---|"]
    for name, rows in results.items():
        rates = [rate for rate, _, _ in rows]
        ratio = np.median([rate / base for rate, base in zip(rates, baseline)])
        steady = [value for _, _, value in rows if value]
        up = (f"{np.median(steady):.2f} ({np.median([s / b for s, b in zip(steady, baseline)]):.0%})" if steady
              else "—")
        lines.append(f"| {name} | {np.median(rates):.2f} | {ratio:.0%} | {up} | {max(peak for _, peak, _ in rows):.0f} |")
    lines += ["", f"The same on {large} photos (one round): command line {large_rates['command line']:.2f} photos/s, "
              f"Ray with 2 actors {large_rates['Ray, 2 actors']:.2f} "
              f"({large_rates['Ray, 2 actors'] / large_rates['command line']:.0%})."]
    lines += ["", f"A film: {FILM_SECONDS} s at 25 fps, 480×270, a cut every 2.5 s ({film_frames} frames of train "
              "photos, each scene panned), with audio; each command whole, medians of the rounds:", "",
              "| run | frames/s | ÷ command line |", "|---|---|---|"]
    for name, rates in film.items():
        ratio = np.median([rate / base for rate, base in zip(rates, film["command line"])])
        lines.append(f"| {name} | {np.median(rates):.1f} | {ratio:.0%} |")
    total = sum(stages.values())
    lines += ["", "Where a photo's time goes (the command line's path in one process, OpenCV on one thread, median "
              "of 50 photos): " + ", ".join(f"{name} {ms:.1f} ms" for name, ms in stages.items())
              + f" — {total:.0f} ms, so about {1000 / total:.1f} photos/s per core; {sizes['read']:.0f} KB read and "
              f"{sizes['written']:.0f} KB written per photo."]
    publish("bench_cluster: archives on Ray beside the command line", "\n".join(lines), args.no_write)
    return 0


if __name__ == "__main__":
    sys.exit(main())
