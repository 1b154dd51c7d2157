"""Memory of a whole process tree, read from /proc: what a command costs, its helpers included."""
import os
import pathlib
import subprocess
import sys

from colornet.common import REPO_ROOT


def tree_rss_mb(root):
    """Resident memory of a process and all its descendants, in MB (a server's workers, Ray's
    services and actors)."""
    parents = {}
    for stat in pathlib.Path("/proc").glob("[0-9]*/stat"):
        try:
            parents[int(stat.parent.name)] = int(stat.read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
    members, frontier = {root}, [root]
    while frontier:
        parent = frontier.pop()
        children = [pid for pid, ppid in parents.items() if ppid == parent and pid not in members]
        members.update(children)
        frontier += children
    total = 0
    for pid in members:
        try:
            total += int(pathlib.Path(f"/proc/{pid}/statm").read_text().split()[1]) * os.sysconf("SC_PAGE_SIZE")
        except (OSError, IndexError, ValueError):
            pass
    return total / 2 ** 20


def command_peak_mb(arguments):
    """Peak resident memory (MB) of `tools/use_trained_model.py ARGUMENTS` in a fresh process."""
    # VmHWM, not getrusage's ru_maxrss: Linux carries ru_maxrss over from the parent through
    # fork and exec, so a child of a big parent would report the parent's peak.
    code = ("import re, runpy, sys; sys.argv[0] = %r; status = 0\n"
            "try:\n    runpy.run_path(sys.argv[0], run_name='__main__')\n"
            "except SystemExit as stop:\n    status = stop.code\n"
            "print(re.search(r'VmHWM:\\s+(\\d+)', open('/proc/self/status').read()).group(1)); "
            "sys.exit(status)") % str(REPO_ROOT / "tools/use_trained_model.py")
    result = subprocess.run([sys.executable, "-c", code, *map(str, arguments)], capture_output=True, text=True,
                            env={**os.environ, "GLOG_minloglevel": "2"})
    if result.returncode != 0:
        raise RuntimeError(f"use_trained_model {' '.join(map(str, arguments))} failed: {result.stderr[-400:]}")
    return int(result.stdout.split()[-1]) / 1024
