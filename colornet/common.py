"""Plumbing shared by the tools: logging, the download cache, and atomic replacement of outputs."""
import contextlib
import logging
import os
import pathlib
import shutil
import sys

REPO_ROOT = pathlib.Path(__file__).resolve().parents[1]


def setup_logging(verbose=False):
    logging.basicConfig(level=logging.DEBUG if verbose else logging.INFO,
                        format="%(name)s: %(levelname)s: %(message)s", stream=sys.stderr)


def cache_dir():
    """Downloads kept across clones: $COLORNET_CACHE, else /var/cache/colornet if writable,
    else ~/.cache/colornet."""
    if os.environ.get("COLORNET_CACHE"):
        path = pathlib.Path(os.environ["COLORNET_CACHE"])
    else:
        system = pathlib.Path("/var/cache/colornet")
        writable = os.access(system if system.exists() else system.parent, os.W_OK)
        path = system if writable else pathlib.Path.home() / ".cache" / "colornet"
    path.mkdir(parents=True, exist_ok=True)
    return path


class OutputExists(RuntimeError):
    """The output is already there and --force was not given."""


@contextlib.contextmanager
def atomic_output_dir(target, force=False):
    """Yield a fresh temporary directory beside ``target``; on success it replaces ``target``.

    On any exception the temporary directory is removed and ``target`` is left as it was, so an
    interrupted build never leaves a half-written output where a good one was.
    """
    target = pathlib.Path(target)
    if target.exists() and not force:
        raise OutputExists(f"{target} already exists (use --force to replace it)")
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = target.parent / f".{target.name}.partial-{os.getpid()}"
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir()
    try:
        yield staging
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    retired = target.parent / f".{target.name}.old-{os.getpid()}"
    if target.exists():
        target.rename(retired)
    staging.rename(target)
    shutil.rmtree(retired, ignore_errors=True)


def atomic_write_bytes(path, payload):
    """Write a file via a temporary name and a rename: never half-written."""
    path = pathlib.Path(path)
    staging = path.with_name(f".{path.name}.partial-{os.getpid()}")
    staging.write_bytes(payload)
    os.replace(staging, path)


def exit_status(log, work, *errors, status=1):
    """A command's exit status: run ``work()``; an error of the given types is logged as one line
    and gives ``status``, anything else propagates; 0 when it ran through. (The library raises; a
    tool's main() answers with this.)"""
    try:
        work()
    except errors as error:
        log.error("%s", error)
        return status
    return 0
