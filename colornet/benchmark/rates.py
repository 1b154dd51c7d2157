"""The command line's rate, the baseline the server and the cluster are measured against."""
import pathlib
import subprocess
import sys
import time

from colornet.common import REPO_ROOT


def command_line_rate(paths, output, *arguments):
    """Photos per second of `tools/use_trained_model.py PATHS -o OUTPUT ARGUMENTS` in a fresh
    process (model loading included), counted by the photos it wrote: the command line colours a
    path given twice once, so the number of paths would overstate it. Returns (photos/s, photos)."""
    output = pathlib.Path(output)
    started = time.perf_counter()
    subprocess.run([sys.executable, str(REPO_ROOT / "tools/use_trained_model.py"), *map(str, paths), "-o", str(output),
                    "-q", *map(str, arguments)], check=True, capture_output=True)
    elapsed = time.perf_counter() - started
    written = sum(1 for path in output.iterdir() if path.is_file() and not path.name.startswith("."))
    return written / elapsed, written
