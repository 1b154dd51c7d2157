"""The ASGI app of tools/serve.py: routes, limits and one reader of requests, over the worker pool
(pool.py) and its workers (worker.py), which call colorize.pipeline."""
import contextlib
import dataclasses
import logging
import pathlib
import tempfile

from colornet.photo_io import DEFAULT_MAX_PIXELS
from colornet.colorize.settings import Settings, SettingsError, describe, parse_field
from colornet.colorize.models import available_models
from colornet.serve.pool import RequestError, WorkerPool

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


def create_app(settings):
    """The FastAPI app; raises ModelError if the default model cannot be found."""
    from fastapi import FastAPI, Request
    from fastapi.responses import FileResponse, JSONResponse, Response
    from colornet.colorize.models import Model
    models_dir = settings.models_dir
    Model.resolve(str(pathlib.Path(models_dir) / settings.default_model) if models_dir else settings.default_model)

    @contextlib.asynccontextmanager
    async def lifespan(app):
        previous_tempdir = tempfile.tempdir
        if settings.scratch:
            # Multipart parts over 1 MB spool to temporary files: keep them in the server's own
            # folder (removed at exit), never anywhere a client could name.
            tempfile.tempdir = str(settings.scratch)
        app.state.pool = WorkerPool(settings)
        await app.state.pool.start()
        log.info("%d worker(s) ready", settings.workers)
        try:
            yield
        finally:
            app.state.pool.stop()
            tempfile.tempdir = previous_tempdir

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
                       upsampling: str = None, hints: str = None, hint_weight: float = None):
        """One image as multipart form data (field `image`) or as the raw body; fields or query
        parameters `model`, `temperature`, `format` (png or jpg), `upsampling` (guided or cubic),
        `hints` (the JSON list use_trained_model.py --hints takes), `hint_weight` (its
        --hint-weight). Answers the colorized image at
        full resolution."""
        payload, fields = await read_request(request, settings.max_upload_bytes, {
            "model": model, "temperature": temperature, "format": format, "upsampling": upsampling, "hints": hints,
            "hint_weight": hint_weight})
        name, colour_settings = validate(fields, settings, available_models(models_dir))
        status, result = await app.state.pool.colorize(name, colour_settings, payload, fields.get("hints") or None)
        if status != 200:
            raise RequestError(status, result)
        return Response(result, media_type=FORMATS[colour_settings.format],
                        headers={"Content-Disposition": f'inline; filename="colorized.{colour_settings.format}"'})

    @app.post("/api/palette")
    async def palette(request: Request, x: float, y: float, model: str = None):
        """The 9 colours the model finds likeliest at photo pixel (x, y) of the image (form field
        `image` or the raw body), likeliest first: {"colors": ["#rrggbb", …]}."""
        payload, fields = await read_request(request, settings.max_upload_bytes, {"model": model})
        name = validate(fields, settings, available_models(models_dir))[0]
        status, result = await app.state.pool.palette(name, payload, settings.max_pixels, x, y)
        if status != 200:
            raise RequestError(status, result)
        return {"colors": result}

    return app


async def read_request(request, limit, query_fields):
    """(image bytes, fields) of an upload: the image as the form field `image` or as the raw body
    (at most ``limit`` bytes), the fields from the query or the form (the query wins). The one
    reader of every route that takes a photo; raises RequestError."""
    body = await read_capped(request, limit)
    payload, fields = body, dict(query_fields)
    if request.headers.get("content-type", "").startswith("multipart/form-data"):
        payload, form_fields = await parse_form(request, body)
        fields.update({key: value for key, value in form_fields.items() if fields.get(key) is None})
    if not payload:
        raise RequestError(415, "no image in the request (send it as the form field 'image' or as the body)")
    return payload, fields


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
                              hint_weight=parse_field("hint_weight", fields.get("hint_weight")),
                              max_pixels=settings.max_pixels)
    except SettingsError as error:
        raise RequestError(422, str(error)) from None
