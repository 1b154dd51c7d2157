"""colornet in the browser and over HTTP: a page to drop photos on, and an API.

    python tools/serve.py                       # http://127.0.0.1:8000/ (make serve)
    python tools/serve.py --port 8080 --workers 2 --max-upload-mb 25 --max-pixels 50
    curl -F image=@old.jpg -o coloured.png http://127.0.0.1:8000/api/colorize
    curl --data-binary @old.jpg -H 'Content-Type: image/jpeg' \\
         'http://127.0.0.1:8000/api/colorize?format=jpg&temperature=0.3' -o coloured.jpg
    curl http://127.0.0.1:8000/api/models       # the models and their cards' key facts
    curl http://127.0.0.1:8000/healthz          # 200 when the nets are loaded

What it does and why: colornet/serve/server.py (shown below by --help).
"""
import argparse
import logging
import sys

from colornet.colorize.models import ModelError
from colornet.common import exit_status, setup_logging
from colornet.photo_io import DEFAULT_MAX_PIXELS
from colornet.serve.app import ServerSettings
from colornet.serve.server import DEFAULT_MAX_UPLOAD_MB, run_server
from colornet.serve import server as server_module

log = logging.getLogger("serve")


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, epilog=server_module.__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--host", default="127.0.0.1",
                        help="address to listen on (default 127.0.0.1: this machine only; 0.0.0.0 opens it to the network)")
    parser.add_argument("--port", type=int, default=8000, help="port (default 8000)")
    parser.add_argument("--model", default="default", help="the model used when a request names none (default: default)")
    parser.add_argument("--workers", type=int, default=2, help="worker processes, each with its own nets (default 2)")
    parser.add_argument("--queue", type=int, default=8,
                        help="requests that may wait for a worker; more get 503 with Retry-After (default 8)")
    parser.add_argument("--max-upload-mb", type=float, default=DEFAULT_MAX_UPLOAD_MB,
                        help=f"largest upload in MB (default {DEFAULT_MAX_UPLOAD_MB})")
    parser.add_argument("--max-pixels", type=float, default=DEFAULT_MAX_PIXELS / 1e6, metavar="MP",
                        help="largest image in megapixels, read from its header before decoding (default %(default)g)")
    parser.add_argument("--cors", metavar="ORIGIN", action="append", default=[],
                        help="allow cross-origin requests from this origin (repeatable; default: none)")
    args = parser.parse_args(argv)
    if args.workers < 1 or args.queue < 0:
        parser.error("--workers must be at least 1 and --queue at least 0")
    if args.max_upload_mb <= 0 or args.max_pixels <= 0:
        parser.error("--max-upload-mb and --max-pixels must be positive")
    return args


def main(argv=None):
    args = parse_args(argv)
    setup_logging()
    settings = ServerSettings(default_model=args.model, workers=args.workers, queue=args.queue,
                              max_upload_bytes=int(args.max_upload_mb * 2 ** 20),
                              max_pixels=int(args.max_pixels * 1e6), cors=args.cors)
    return exit_status(log, lambda: run_server(args.host, args.port, settings), ModelError, status=2)


if __name__ == "__main__":
    sys.exit(main())
