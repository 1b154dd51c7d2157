"""The server under load, beside the command line on the same photos: photos/s, p50/p95 latency
and errors for N = 1, 4 and 16 concurrent clients over loopback, and the server's resident memory
(server and workers together) before and after a soak of --soak requests. Results go to
bench/RESULTS.md.

    python bench/bench_serve.py [--photos 24] [--soak 500] [--workers 2]

Every loop is bounded in requests and in time; only 127.0.0.1 is contacted.
"""
import argparse
import concurrent.futures
import logging
import pathlib
import shutil
import sys
import tempfile
import time
import urllib.error
import urllib.request


import cv2
import numpy as np

from colornet.benchmark.rates import command_line_rate
from colornet.benchmark.memory import tree_rss_mb
from colornet.benchmark.results import publish
from colornet.benchmark.serving import free_port, start_server
from colornet.common import REPO_ROOT
from colornet.photo_io import list_images, read_bgr

log = logging.getLogger("bench_serve")


def make_photos(folder, count, long_side):
    """Grey JPEGs from the val photos (or the demo samples), long side brought to long_side."""
    sources = list_images([REPO_ROOT / "data/photos/val.txt"]) if (REPO_ROOT / "data/photos/val.txt").exists() \
        else list_images([REPO_ROOT / "data/samples"])
    paths = []
    for number, source in enumerate(sources[:count]):
        grey = cv2.cvtColor(read_bgr(source), cv2.COLOR_BGR2GRAY)
        scale = long_side / max(grey.shape)
        grey = cv2.resize(grey, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
        path = folder / f"{number:03d}.jpg"
        cv2.imwrite(str(path), grey, [cv2.IMWRITE_JPEG_QUALITY, 90])
        paths.append(path)
    return paths


def post(port, payload):
    request = urllib.request.Request(f"http://127.0.0.1:{port}/api/colorize", data=payload, method="POST")
    started = time.perf_counter()
    try:
        with urllib.request.urlopen(request, timeout=120) as answer:
            answer.read()
            status = answer.status
    except urllib.error.HTTPError as error:
        status = error.code
    except OSError:
        status = "error"
    return status, time.perf_counter() - started


def load(port, payloads, clients, requests, time_limit):
    """requests POSTs from `clients` threads (bounded in count and time) → photos/s, latencies, errors."""
    started = time.perf_counter()
    results = []
    with concurrent.futures.ThreadPoolExecutor(clients) as pool:
        pending = set()
        sent = 0
        while sent < requests or pending:
            while sent < requests and len(pending) < clients and time.perf_counter() - started < time_limit:
                pending.add(pool.submit(post, port, payloads[sent % len(payloads)]))
                sent += 1
            if not pending:
                break
            done, pending = concurrent.futures.wait(pending, return_when=concurrent.futures.FIRST_COMPLETED)
            results += [future.result() for future in done]
    elapsed = time.perf_counter() - started
    ok = [seconds for status, seconds in results if status == 200]
    return {"requests": len(results), "ok": len(ok), "errors": len(results) - len(ok),
            "statuses": sorted({str(status) for status, _ in results}), "photos_per_s": len(ok) / elapsed,
            "p50": float(np.percentile(ok, 50)) if ok else float("nan"),
            "p95": float(np.percentile(ok, 95)) if ok else float("nan")}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--photos", type=int, default=24, help="distinct photos (default 24)")
    parser.add_argument("--long-side", type=int, default=640, help="their long side (default 640)")
    parser.add_argument("--soak", type=int, default=500, help="requests between the memory readings (default 500)")
    parser.add_argument("--workers", type=int, default=2, help="server workers (default 2)")
    parser.add_argument("--time-limit", type=float, default=300, help="seconds per load run at most (default 300)")
    parser.add_argument("--no-write", action="store_true", help="print, leave bench/RESULTS.md alone")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(name)s: %(message)s")
    with tempfile.TemporaryDirectory() as scratch:
        scratch = pathlib.Path(scratch)
        paths = make_photos(scratch, args.photos, args.long_side)
        payloads = [p.read_bytes() for p in paths]
        # Each photo twice, as distinct files, so model loading is spread over as many photos as the
        # server's runs get (a path given twice is coloured once).
        copies = scratch / "copies"
        copies.mkdir()
        for path in paths:
            shutil.copy(path, copies / path.name)
        cli, cli_photos = command_line_rate(paths + sorted(copies.iterdir()), scratch / "cli")
        log.info("command line: %.2f photos/s (%d photos)", cli, cli_photos)
        port = free_port()
        server = start_server(port, args.workers, queue=16)
        try:
            rows = {}
            for clients in (1, 4, 16):
                rows[clients] = load(port, payloads, clients, 2 * len(paths) if clients < 16 else 4 * len(paths),
                                     args.time_limit)
                log.info("N=%d: %s", clients, rows[clients])
            before = tree_rss_mb(server.pid)
            soak = load(port, payloads, 4, args.soak, args.time_limit * 3)
            after = tree_rss_mb(server.pid)
            log.info("soak: %s; RSS %.0f → %.0f MB", soak, before, after)
        finally:
            server.terminate()
            server.wait(timeout=60)
    lines = [f"{args.photos} grey JPEGs (val photos, long side {args.long_side}); server with {args.workers} "
             f"workers and a queue of 16, loopback. Command line (`use_trained_model.py` on the same "
             f"{cli_photos} photos, model loading included): **{cli:.2f} photos/s**.", "",
             "| clients | requests | errors | photos/s | ÷ command line | p50 s | p95 s |", "|---|---|---|---|---|---|---|"]
    for clients, row in rows.items():
        lines.append(f"| {clients} | {row['requests']} | {row['errors']} ({', '.join(row['statuses'])}) | "
                     f"{row['photos_per_s']:.2f} | {row['photos_per_s'] / cli:.0%} | {row['p50']:.2f} | {row['p95']:.2f} |")
    lines += ["", f"Memory (server + workers, resident): {before:.0f} MB before and {after:.0f} MB after {soak['requests']} "
              f"requests at 4 clients ({after / before - 1:+.1%}); {soak['errors']} errors in them."]
    publish("bench_serve: the server under load", "\n".join(lines), args.no_write)
    return 0


if __name__ == "__main__":
    sys.exit(main())
