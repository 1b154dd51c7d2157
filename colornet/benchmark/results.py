"""Writing benchmark results into bench/RESULTS.md, one section per benchmark, with the machine."""
import datetime
import os
import platform
import re
import sys
import time

from colornet.common import REPO_ROOT

RESULTS = REPO_ROOT / "bench" / "RESULTS.md"


def machine_description():
    model = "unknown CPU"
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    memory = ""
    try:
        kib = int(next(l for l in open("/proc/meminfo") if l.startswith("MemTotal")).split()[1])
        memory = f", {kib / 2 ** 20:.0f} GiB RAM"
    except (OSError, StopIteration, ValueError):
        pass
    return f"{model}, {os.cpu_count()} cores{memory}, {platform.system()} {platform.release()}"


def write_section(name, body):
    """Replace (or add) the '## name' section of RESULTS.md with body, stamped with date and machine."""
    header = f"## {name}"
    stamp = f"Measured {datetime.date.today().isoformat()} on: {machine_description()}\n"
    section = f"{header}\n\n{stamp}\n{body.rstrip()}\n\n"
    text = RESULTS.read_text() if RESULTS.exists() else "# Benchmark results\n\nWritten by the scripts in bench/; each section says what machine it ran on.\n\n"
    pattern = re.compile(rf"^{re.escape(header)}\n.*?(?=^## |\Z)", re.S | re.M)
    text = pattern.sub(lambda _: section, text) if pattern.search(text) else text + section
    RESULTS.write_text(text)


def best_time(function, repeats):
    """Seconds of the fastest of `repeats` calls: the least disturbed by whatever else runs."""
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        function()
        times.append(time.perf_counter() - start)
    return min(times)


def publish(name, body, print_only=False):
    """Write body as RESULTS.md's section `name`, or only print it (a benchmark's --no-write)."""
    if print_only:
        sys.stdout.write(body.rstrip() + "\n")
    else:
        write_section(name, body)
