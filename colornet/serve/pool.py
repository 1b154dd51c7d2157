"""The server's worker processes, with a bounded number of requests in flight; RequestError is
an answer other than 200."""
import asyncio
import concurrent.futures
import multiprocessing
import os

from colornet.serve.worker import colorize_upload, palette_of_upload, warm_up


class RequestError(Exception):
    """An answer other than 200: HTTP status, one-line reason, extra headers."""

    def __init__(self, status, reason, headers=None):
        super().__init__(reason)
        self.status, self.reason, self.headers = status, reason, headers or {}


class WorkerPool:
    """Worker processes with a bounded number of requests in flight (running plus waiting)."""

    def __init__(self, settings):
        self.settings = settings
        self.capacity = settings.workers + settings.queue
        self.models_dir = str(settings.models_dir) if settings.models_dir else None
        self.in_flight = 0
        self.ready = False
        # Each worker's BLAS gets its share of the cores: N workers each running on every core
        # would fight over them (spawned workers read this when they import numpy and Caffe).
        threads = str(max(1, (os.cpu_count() or 1) // settings.workers))
        for variable in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS"):
            os.environ.setdefault(variable, threads)
        # spawn, not fork: a forked child of a process with threads (uvicorn, OpenBLAS) can hang.
        self.executor = concurrent.futures.ProcessPoolExecutor(settings.workers,
                                                               mp_context=multiprocessing.get_context("spawn"))

    async def start(self):
        loop = asyncio.get_running_loop()
        warm = [loop.run_in_executor(self.executor, warm_up, self.models_dir, self.settings.default_model)
                for _ in range(self.settings.workers)]
        self.ready = all(await asyncio.gather(*warm))

    async def colorize(self, *arguments):
        return await self.run(colorize_upload, *arguments)

    async def palette(self, *arguments):
        return await self.run(palette_of_upload, *arguments)

    async def run(self, function, *arguments):
        if self.in_flight >= self.capacity:
            raise RequestError(503, f"busy: {self.in_flight} photos in progress or waiting; try again shortly",
                               {"Retry-After": "2"})
        self.in_flight += 1
        try:
            loop = asyncio.get_running_loop()
            return await loop.run_in_executor(self.executor, function, self.models_dir, *arguments)
        except concurrent.futures.BrokenExecutor:
            raise RequestError(503, "the server is shutting down", {"Retry-After": "5"}) from None
        finally:
            self.in_flight -= 1

    def stop(self):
        self.ready = False
        self.executor.shutdown(wait=True, cancel_futures=True)
