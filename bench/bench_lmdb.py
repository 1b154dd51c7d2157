"""Images per second of tools/gen_lmdb.py (1 and 2 workers) against Caffe's own convert_imageset,
on the same photos at the same size; results go to bench/RESULTS.md."""
import argparse
import logging
import pathlib
import shutil
import subprocess
import sys
import tempfile
import time

from colornet.benchmark.results import write_section  # noqa: E402
from colornet.common import REPO_ROOT, setup_logging  # noqa: E402
from colornet.photo_io import list_images  # noqa: E402

log = logging.getLogger("bench_lmdb")


def convert_imageset_binary():
    import caffe
    prefix = pathlib.Path(caffe.__file__).resolve().parents[4]
    return prefix / "bin" / "convert_imageset"


def timed(command):
    started = time.perf_counter()
    subprocess.run(command, check=True, capture_output=True)
    return time.perf_counter() - started


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("photos", nargs="?", type=pathlib.Path, default=REPO_ROOT / "data/photos/train.txt",
                        help="folder or list file of photos (default: the train split)")
    parser.add_argument("--size", type=int, default=224)
    parser.add_argument("--repeats", type=int, default=2, help="runs of each; the fastest counts")
    parser.add_argument("--no-write", action="store_true", help="print only, leave RESULTS.md alone")
    args = parser.parse_args(argv)
    setup_logging()
    photos = list_images([args.photos])
    if not photos:
        log.error("no photos in %s (run `make photos`)", args.photos)
        return 1
    work = pathlib.Path(tempfile.mkdtemp(prefix="bench_lmdb-"))
    try:
        labelled = work / "convert_imageset.txt"  # convert_imageset wants "path label" lines
        labelled.write_text("".join(f"{p.resolve()} 0\n" for p in photos))
        listing = work / "list.txt"
        listing.write_text("".join(f"{p.resolve()}\n" for p in photos))
        runs = {
            "convert_imageset (Caffe, BGR)": [str(convert_imageset_binary()), f"--resize_height={args.size}",
                                              f"--resize_width={args.size}", "--backend=lmdb", "/", str(labelled)],
            "gen_lmdb.py yuv64, 1 worker": [sys.executable, str(REPO_ROOT / "tools/gen_lmdb.py"), str(listing),
                                            "--size", str(args.size), "--workers", "1", "-q", "--force", "-o"],
            "gen_lmdb.py yuv64, 2 workers": [sys.executable, str(REPO_ROOT / "tools/gen_lmdb.py"), str(listing),
                                             "--size", str(args.size), "--workers", "2", "-q", "--force", "-o"],
            "gen_lmdb.py bgr, 1 worker": [sys.executable, str(REPO_ROOT / "tools/gen_lmdb.py"), str(listing),
                                          "--format", "bgr", "--size", str(args.size), "--workers", "1", "-q",
                                          "--force", "-o"],
        }
        rows = []
        for name, command in runs.items():
            best = float("inf")
            for repeat in range(args.repeats):
                output = work / f"db{repeat}"
                shutil.rmtree(output, ignore_errors=True)
                best = min(best, timed(command + [str(output)]))
            rows.append((name, best, len(photos) / best))
            log.info("%-32s %6.2f s  %6.1f images/s", name, best, len(photos) / best)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    body = (f"{len(photos)} photos ({args.photos}), stretched to {args.size}×{args.size}, one record each; "
            f"wall time of the whole command (start-up included), best of {args.repeats}.\n\n"
            "| tool | seconds | images/s |\n|---|---|---|\n"
            + "".join(f"| {name} | {seconds:.2f} | {rate:.1f} |\n" for name, seconds, rate in rows))
    if not args.no_write:
        write_section("bench_lmdb: building the LMDB", body)
    print(body)
    return 0


if __name__ == "__main__":
    sys.exit(main())
