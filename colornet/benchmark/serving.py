"""A server of tools/serve.py in a process of its own, for the benchmarks that load it."""
import socket
import subprocess
import sys
import time
import urllib.request

from colornet.common import REPO_ROOT


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def start_server(port, workers, queue):
    process = subprocess.Popen([sys.executable, str(REPO_ROOT / "tools/serve.py"), "--port", str(port),
                                "--workers", str(workers), "--queue", str(queue)],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2):
                return process
        except OSError:
            time.sleep(0.5)
    process.kill()
    raise RuntimeError("the server did not become ready in 3 minutes")
