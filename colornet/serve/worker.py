"""What runs in the server's worker processes: each keeps the nets it has loaded (a few models,
the last used) and colours uploads with the same calls as use_trained_model.py."""
import collections
import pathlib

# Worker processes: each keeps the nets it has loaded, one per model, for its whole life, in this
# per-process cache filled by colorize_upload. Keyed by the model alone: temperature and
# upsampling are per-request settings over the same net, so no client-chosen value grows it; the
# model names a client may give are the folders in models/, and the cache keeps the
# MODELS_PER_WORKER used last all the same.
MODELS_PER_WORKER = 4
_worker_colorizers = collections.OrderedDict()


def worker_colorizer(models_dir, model_name):
    from colornet.colorize.pipeline import Colorizer
    from colornet.colorize.models import Model
    from colornet.colorize.settings import Settings
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


def colorize_upload(models_dir, model_name, settings, payload, hints_text=None):
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
        colorizer = worker_colorizer(models_dir, model_name).with_settings(
            temperature=settings.temperature, upsampling=settings.upsampling, hint_weight=settings.hint_weight)
        hints = parse_hints(hints_text, photo.shape[1], photo.shape[0], colorizer.model.family) \
            if hints_text else None
        result = colorizer.colorize([photo], [hints])[0]
    except HintError as error:
        return 422, str(error)
    except ModelError as error:
        return 500, str(error)
    return 200, encode(result, settings.format)


def palette_of_upload(models_dir, model_name, payload, max_pixels, x, y):
    """In a worker: the net's likeliest colours at photo pixel (x, y) → (status, colours or reason)."""
    from colornet.colorize.models import ModelError
    photo, refusal = _decode_upload(payload, max_pixels)
    if refusal:
        return refusal
    if not (0 <= x < photo.shape[1] and 0 <= y < photo.shape[0]):
        return 422, f"({x}, {y}) is outside the {photo.shape[1]}×{photo.shape[0]} photo"
    try:
        return 200, worker_colorizer(models_dir, model_name).palette(photo, x, y)
    except ModelError as error:
        return 500, str(error)


def warm_up(models_dir, model_name):
    """Load the default model in a worker, so /healthz means ready and the first photo is quick."""
    import cv2
    import numpy as np
    grey = cv2.imencode(".png", np.full((8, 8), 128, np.uint8))[1].tobytes()
    from colornet.colorize.settings import Settings
    return colorize_upload(models_dir, model_name, Settings(max_pixels=10_000), grey)[0] == 200
