"""The ASGI app of tools/serve.py: routes, limits and the worker pool, over colorize.pipeline."""
import asyncio
import collections
import concurrent.futures
import contextlib
import dataclasses
import logging
import multiprocessing
import os
import pathlib
import tempfile

from colornet.photo_io import DEFAULT_MAX_PIXELS
from colornet.colorize.settings import Settings, SettingsError, describe, parse_field
from colornet.colorize.models import available_models

log = logging.getLogger("serve")
WEB = pathlib.Path(__file__).resolve().parent / "web"
FORMATS = {"png": "image/png", "jpg": "image/jpeg"}


@dataclasses.dataclass
class ServerSettings:
    default_model: str = "default"
    workers: int = 2
    queue: int = 8
    max_upload_bytes: int = 25 * 2 ** 20
    max_pixels: int = DEFAULT_MAX_PIXELS
    cors: list = dataclasses.field(default_factory=list)
    scratch: pathlib.Path = None
    models_dir: pathlib.Path = None


class RequestError(Exception):
    """An answer other than 200: HTTP status, one-line reason, extra headers."""

    def __init__(self, status, reason, headers=None):
        super().__init__(reason)
        self.status, self.reason, self.headers = status, reason, headers or {}


# Worker processes: each keeps the nets it has loaded, one per model, for its whole life, in this
# per-process cache filled by _colorize_in_worker. Keyed by the model alone: temperature and
# upsampling are per-request settings over the same net, so no client-chosen value grows it; the
# model names a client may give are the folders in models/, and the cache keeps the
# MODELS_PER_WORKER used last all the same.
MODELS_PER_WORKER = 4
_worker_colorizers = collections.OrderedDict()


def _worker_colorizer(models_dir, model_name):
    from colornet.colorize.pipeline import Colorizer
    from colornet.colorize.models import Model
    if model_name in _worker_colorizers:
        _worker_colorizers.move_to_end(model_name)
        return _worker_colorizers[model_name]
    folder = pathlib.Path(models_dir) / model_name if models_dir else model_name
    # The pixel limit is checked on the header before decoding; the colorizer needs none of its own.
    colorizer = Colorizer(Model.resolve(str(folder)), settings=Settings(max_pixels=0))
    _worker_colorizers[model_name] = colorizer
    while len(_worker_colorizers) > MODELS_PER_WORKER:
        _worker_colorizers.popitem(last=False)
    return colorizer


def _decode_upload(payload, max_pixels):
    """(photo, None), or (None, (status, reason)) for an upload that is not a photo or too large."""
    from colornet.photo_io import PixelLimitExceeded, UnreadableImage, decode_bgr
    try:
        return decode_bgr(payload, "upload", max_pixels=max_pixels, keep_grey=True), None
    except PixelLimitExceeded as error:
        return None, (413, str(error))
    except UnreadableImage as error:
        return None, (415, str(error))


def _colorize_in_worker(models_dir, model_name, settings, payload, hints_text=None):
    """In a worker: bytes in → (status, bytes or reason), coloured with ``settings`` (a
    Settings; its pixel limit is checked on the upload's header). The same calls as
    use_trained_model."""
    from colornet.colorize.hints import HintError, parse_hints
    from colornet.colorize.pipeline import encode
    from colornet.colorize.models import ModelError
    photo, refusal = _decode_upload(payload, settings.max_pixels)
    if refusal:
        return refusal
    try:
        colorizer = _worker_colorizer(models_dir, model_name).with_settings(
            temperature=settings.temperature, upsampling=settings.upsampling)
        hints = parse_hints(hints_text, photo.shape[1], photo.shape[0], colorizer.model.family) \
            if hints_text else None
        result = colorizer.colorize([photo], [hints])[0]
    except HintError as error:
        return 422, str(error)
    except ModelError as error:
        return 500, str(error)
    return 200, encode(result, settings.format)


def _palette_in_worker(models_dir, model_name, payload, max_pixels, x, y):
    """In a worker: the net's likeliest colours at photo pixel (x, y) → (status, colours or reason)."""
    from colornet.colorize.models import ModelError
    photo, refusal = _decode_upload(payload, max_pixels)
    if refusal:
        return refusal
    if not (0 <= x < photo.shape[1] and 0 <= y < photo.shape[0]):
        return 422, f"({x}, {y}) is outside the {photo.shape[1]}×{photo.shape[0]} photo"
    try:
        return 200, _worker_colorizer(models_dir, model_name).palette(photo, x, y)
    except ModelError as error:
        return 500, str(error)


def _warm_up(models_dir, model_name):
    """Load the default model in a worker, so /healthz means ready and the first photo is quick."""
    import cv2
    import numpy as np
    grey = cv2.imencode(".png", np.full((8, 8), 128, np.uint8))[1].tobytes()
    return _colorize_in_worker(models_dir, model_name, Settings(max_pixels=10_000), grey)[0] == 200


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
        warm = [loop.run_in_executor(self.executor, _warm_up, self.models_dir, self.settings.default_model)
                for _ in range(self.settings.workers)]
        self.ready = all(await asyncio.gather(*warm))

    async def colorize(self, *arguments):
        return await self.run(_colorize_in_worker, *arguments)

    async def palette(self, *arguments):
        return await self.run(_palette_in_worker, *arguments)

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


def create_app(settings):
    """The FastAPI app; raises ModelError if the default model cannot be found."""
    from fastapi import FastAPI, Request
    from fastapi.responses import FileResponse, JSONResponse, Response
    from colornet.colorize.models import Model
    models_dir = settings.models_dir
    Model.resolve(str(pathlib.Path(models_dir) / settings.default_model) if models_dir else settings.default_model)

    @contextlib.asynccontextmanager
    async def lifespan(app):
        if settings.scratch:
            # Multipart parts over 1 MB spool to temporary files: keep them in the server's own
            # folder (removed at exit), never anywhere a client could name.
            tempfile.tempdir = str(settings.scratch)
        app.state.pool = WorkerPool(settings)
        await app.state.pool.start()
        log.info("%d worker(s) ready", settings.workers)
        yield
        app.state.pool.stop()

    app = FastAPI(title="colornet", description="Colorize black-and-white photos with stock BVLC Caffe.",
                  lifespan=lifespan)
    if settings.cors:
        from fastapi.middleware.cors import CORSMiddleware
        app.add_middleware(CORSMiddleware, allow_origins=settings.cors, allow_methods=["GET", "POST"])

    @app.exception_handler(RequestError)
    async def request_error(request, error):
        return JSONResponse({"error": error.reason}, status_code=error.status, headers=error.headers)

    # What FastAPI and Starlette answer themselves (a query parameter that is not a number, a
    # form the multipart parser refuses) gets the API's one shape too: {"error": one line}.
    from fastapi.exceptions import RequestValidationError
    from starlette.exceptions import HTTPException

    @app.exception_handler(RequestValidationError)
    async def invalid_parameters(request, error):
        reasons = [f"{'.'.join(str(part) for part in problem['loc'][1:])}: {problem['msg']}"
                   for problem in error.errors()]
        return JSONResponse({"error": "; ".join(reasons) or "invalid request"}, status_code=422)

    @app.exception_handler(HTTPException)
    async def http_error(request, error):
        return JSONResponse({"error": " ".join(str(error.detail).split())}, status_code=error.status_code,
                            headers=getattr(error, "headers", None))

    @app.get("/", include_in_schema=False)
    async def page():
        return FileResponse(WEB / "index.html", media_type="text/html")

    @app.get("/static/{name}", include_in_schema=False)
    async def static(name: str):
        # Only the files that are there by these exact names: no listing, no paths.
        files = {p.name: p for p in WEB.iterdir() if p.is_file()}
        if name not in files:
            return JSONResponse({"error": "not found"}, status_code=404)
        return FileResponse(files[name])

    @app.get("/healthz")
    async def healthz():
        ready = getattr(app.state, "pool", None) is not None and app.state.pool.ready
        return JSONResponse({"ready": ready}, status_code=200 if ready else 503)

    @app.get("/api/models")
    async def models():
        """The models in models/, with their model cards' key facts."""
        return {"default": settings.default_model, "settings": describe(),
                "models": [{"name": name, **card} for name, card in available_models(models_dir).items()]}

    @app.post("/api/colorize", responses={200: {"content": {"image/png": {}, "image/jpeg": {}}}})
    async def colorize(request: Request, model: str = None, temperature: float = None, format: str = None,
                       upsampling: str = None, hints: str = None):
        """One image as multipart form data (field `image`) or as the raw body; fields or query
        parameters `model`, `temperature`, `format` (png or jpg), `upsampling` (guided or cubic),
        `hints` (the JSON list use_trained_model.py --hints takes). Answers the colorized image at
        full resolution."""
        body = await read_capped(request, settings.max_upload_bytes)
        fields = {"model": model, "temperature": temperature, "format": format, "upsampling": upsampling,
                  "hints": hints}
        payload = body
        if request.headers.get("content-type", "").startswith("multipart/form-data"):
            payload, form_fields = await parse_form(request, body)
            fields.update({k: v for k, v in form_fields.items() if fields.get(k) is None})
        name, colour_settings = validate(fields, settings, available_models(models_dir))
        if not payload:
            raise RequestError(415, "no image in the request (send it as the form field 'image' or as the body)")
        status, result = await app.state.pool.colorize(name, colour_settings, payload, fields.get("hints") or None)
        if status != 200:
            raise RequestError(status, result)
        return Response(result, media_type=FORMATS[colour_settings.format],
                        headers={"Content-Disposition": f'inline; filename="colorized.{colour_settings.format}"'})

    @app.post("/api/palette")
    async def palette(request: Request, x: float, y: float, model: str = None):
        """The 9 colours the model finds likeliest at photo pixel (x, y) of the image (form field
        `image` or the raw body), likeliest first: {"colors": ["#rrggbb", …]}."""
        body = await read_capped(request, settings.max_upload_bytes)
        payload, fields = body, {"model": model}
        if request.headers.get("content-type", "").startswith("multipart/form-data"):
            payload, form_fields = await parse_form(request, body)
            fields.update({k: v for k, v in form_fields.items() if fields.get(k) is None})
        name = validate(fields, settings, available_models(models_dir))[0]
        if not payload:
            raise RequestError(415, "no image in the request (send it as the form field 'image' or as the body)")
        status, result = await app.state.pool.palette(name, payload, settings.max_pixels, x, y)
        if status != 200:
            raise RequestError(status, result)
        return {"colors": result}

    return app


async def read_capped(request, limit):
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limit:
        raise RequestError(413, f"upload of {int(declared) / 2 ** 20:.1f} MB is over the limit of "
                                f"{limit / 2 ** 20:g} MB")
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise RequestError(413, f"upload is over the limit of {limit / 2 ** 20:g} MB")
        chunks.append(chunk)
    return b"".join(chunks)


async def parse_form(request, body):
    """Multipart body → (image bytes, other fields as strings)."""
    from starlette.requests import Request

    async def replay():
        return {"type": "http.request", "body": body, "more_body": False}
    from starlette.exceptions import HTTPException
    try:
        form = await Request(request.scope, replay).form(max_files=1, max_fields=8)
    except HTTPException as error:
        # Starlette refuses a form field over its 1 MB part limit with a plain 400.
        status = 413 if "maximum size" in str(error.detail) else error.status_code
        raise RequestError(status, f"form refused: {error.detail}") from None
    try:
        image, fields = b"", {}
        for key, value in form.multi_items():
            if hasattr(value, "read"):
                if key == "image":
                    image = await value.read()
            else:
                fields[key] = value
        return image, fields
    finally:
        await form.close()


def validate(fields, settings, models):
    """(model name, colorize.settings.Settings) from request fields, or RequestError."""
    name = fields.get("model") or settings.default_model
    if name not in models:
        raise RequestError(404, f"no model {name!r}; models: {', '.join(models) or 'none'}")
    try:
        return name, Settings(temperature=parse_field("temperature", fields.get("temperature")),
                              format=parse_field("format", fields.get("format")) or "png",
                              upsampling=parse_field("upsampling", fields.get("upsampling")) or "guided",
                              max_pixels=settings.max_pixels)
    except SettingsError as error:
        raise RequestError(422, str(error)) from None
