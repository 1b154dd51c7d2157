"""Write the numbers of `caffe time` logs into a section of bench/RESULTS.md.

    python3 bench/caffe_time.py logs/bench/*.log --section "bench_nets: caffe time per net"

Run by bench/bench_nets.sh; the parsing is colornet/benchmark/caffe_time.py's.
"""
import argparse
import logging
import os
import pathlib
import sys

from colornet.benchmark.results import write_section
from colornet.benchmark.caffe_time import parse

log = logging.getLogger("caffe_time")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("logs", nargs="+", type=pathlib.Path, help="`caffe time` logs named <net>.log")
    parser.add_argument("--section", default="bench_nets: caffe time per net")
    parser.add_argument("--note", default="", help="sentence to put above the table")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(name)s: %(message)s")
    rows = []
    for path in args.logs:
        result = parse(path.read_text(errors="replace"))
        if "Forward-Backward" not in result["totals"]:
            log.error("%s: no 'Average Forward-Backward' line (did caffe time fail?)", path)
            return 2
        t = result["totals"]
        rows.append(f"| {path.stem} | {result['batch']} | {t['Forward']:.0f} | {t['Backward']:.0f} | "
                    f"{t['Forward-Backward']:.0f} | {1000 / t['Forward-Backward']:.2f} |")
    load = os.getloadavg()[0]
    body = (f"{args.note}\n\n" if args.note else "") + (
        f"`caffe time` (CPU, TRAIN phase, data layers included), milliseconds per iteration; "
        f"1-minute load average when written: {load:.1f}.\n\n"
        "| net | batch | forward ms | backward ms | fwd+bwd ms | iterations/s |\n|---|---|---|---|---|---|\n"
        + "\n".join(rows))
    write_section(args.section, body)
    log.info("wrote section %r of bench/RESULTS.md", args.section)
    return 0


if __name__ == "__main__":
    sys.exit(main())
