"""The colorizing net in a process of its own, one batch in flight, so that the caller decodes,
smooths and encodes video frames while the net computes the next batch (colorize/video.py).

A thread would not do: pycaffe holds Python's GIL for a whole forward pass, so every other
Python thread waits for it. The process rebuilds the caller's Colorizer from its settings() and
runs the same Colorizer.chroma_of, so the chroma is the same as in the caller's own process.
"""
import multiprocessing

from colornet.colorize.pipeline import Colorizer
from colornet.colorize.models import ModelError


def _serve(connection, settings):
    try:
        colorizer = Colorizer(**settings)
    except Exception as error:  # reported to the caller, which raises it as a ModelError
        connection.send(("error", f"{type(error).__name__}: {error}"))
        return
    connection.send(("ready", None))
    while True:
        batch = connection.recv()
        if batch is None:
            return
        try:
            connection.send(("chroma", colorizer.chroma_of(batch)))
        except Exception as error:
            connection.send(("error", f"{type(error).__name__}: {error}"))


class NetProcess:
    """submit(batch) sends the net's input batch; result() waits for its chroma. One batch may
    be in flight while the caller works; close() stops the process."""

    def __init__(self, colorizer):
        context = multiprocessing.get_context("spawn")
        self._connection, child = context.Pipe()
        self._process = context.Process(target=_serve, args=(child, colorizer.settings()), daemon=True)
        self._process.start()
        child.close()
        self._expect("ready")

    def _expect(self, kind):
        try:
            received, value = self._connection.recv()
        except EOFError:
            raise ModelError(f"the net's process ended unexpectedly (exit status {self._process.exitcode})") from None
        if received == "error":
            raise ModelError(value)
        if received != kind:
            raise ModelError(f"the net's process sent {received!r}, expected {kind!r}")
        return value

    def submit(self, batch):
        self._connection.send(batch)

    def result(self):
        return self._expect("chroma")

    def close(self):
        if self._process.is_alive():
            try:
                self._connection.send(None)
            except (BrokenPipeError, OSError):
                pass
            self._process.join(timeout=10)
            if self._process.is_alive():
                self._process.terminate()
                self._process.join()
        self._connection.close()
