"""colornet in the browser and over HTTP: a page to drop photos on, and an API.

A thin layer over colornet.colorize.pipeline, like the command line: the same photo and settings give the
same bytes as `use_trained_model.py`. Caffe nets are not thread-safe and a forward pass takes tens
of milliseconds, so nets run in worker processes, each with its own loaded nets, never on the event
loop; requests beyond the workers wait in a bounded queue, and past it get 503 with Retry-After.
Uploads are read into memory up to --max-upload-mb (multipart parts past 1 MB spool to a private
temporary folder, removed at exit); nothing is kept after an answer. FastAPI + uvicorn: a
maintained ASGI stack, OpenAPI docs at /docs for free.

The command line: tools/serve.py.
"""
import contextlib
import logging
import pathlib
import shutil
import tempfile

log = logging.getLogger("serve")
DEFAULT_MAX_UPLOAD_MB = 25


def run_server(host, port, settings):
    """Serve `settings` (app.ServerSettings, its scratch folder made here) until stopped.
    Raises colorize.models.ModelError if the default model cannot be loaded."""
    import uvicorn
    from colornet.serve.app import create_app
    if host not in ("127.0.0.1", "localhost", "::1"):
        log.warning("listening on %s: anyone who can reach this machine on port %d can use colornet", host, port)
    settings.scratch = pathlib.Path(tempfile.mkdtemp(prefix="colornet-serve-"))
    try:
        app = create_app(settings)
        log.info("colornet is at http://%s:%d/ (API docs: /docs); Ctrl-C stops it",
                 f"[{host}]" if ":" in host else host, port)
        uvicorn.run(app, host=host, port=port, log_level="warning")
    finally:
        with contextlib.suppress(OSError):
            shutil.rmtree(settings.scratch)
