"""Colorize photos with a deploy net: model loading (pycaffe or OpenCV dnn), pre/post-processing
and decoding: the one inference path of the command line, the server, video, evaluation and the
benchmarks.

Both families keep the photo's own full-resolution luminance and add predicted chroma, upsampled
from the net's output guided by that luminance (colorize/upsample.py) or plain cubic:
- lab313 (input blob ``data_l``): L 0..100 in, ab by annealed mean over the 313 bins;
- yuv64 (input blob ``data_y``): Y 0..255 in, UV by annealed mean over the decoded UV of the 64
  classes (or argmax, the original's decoding).
"""
import copy
import json
import logging
import os
import pathlib
import re

import cv2
import numpy as np

from layers import lab313
from layers.yuv64 import Codec
from colornet.colorize import upsample as chroma_upsample
from colornet.colorize.hints import DEFAULT_PRIOR_WEIGHT, hinted_chroma
from colornet.common import REPO_ROOT
from colornet.photo_io import DEFAULT_MAX_PIXELS, check_pixels

log = logging.getLogger("colorize")
MODELS_DIR = REPO_ROOT / "models"
DEFAULT_MODEL = "default"
DEFAULT_TEMPERATURE = 0.38
# The one constant layer of a deploy file that no Caffe filler can set: the Lab/313 bin centres.
CENTRES_LAYER = "class8_ab"


class ModelError(ValueError):
    """A model that cannot be used; the message names the file and the fix."""


class Model:
    """A deploy prototxt and its weights, and what the deploy says about its family."""

    def __init__(self, deploy, weights):
        self.deploy, self.weights = pathlib.Path(deploy), pathlib.Path(weights)
        if not self.deploy.is_file():
            raise ModelError(f"{self.deploy}: no such deploy file (give --model NAME from models/ or a deploy .prototxt)")
        if not self.weights.is_file():
            raise ModelError(f"{self.weights}: no such weights file (train one with `make train-color`, "
                             "or give --weights FILE)")
        text = self.deploy.read_text()
        inputs = re.findall(r'type:\s*"Input"\s*top:\s*"(\w+)"', text)
        if inputs == ["data_l"]:
            self.family, self.input_name = "lab313", "data_l"
            self.output_name = "conv8_313"
        elif inputs == ["data_y"]:
            self.family, self.input_name = "yuv64", "data_y"
            self.output_name = "prob"
        else:
            raise ModelError(f"{self.deploy}: not a colornet deploy net (need one Input layer, data_l or data_y; "
                             f"found {inputs or 'none'})")
        card = self.deploy.parent / "model.json"
        # A fine-tuned model's card carries the temperature chosen for it on its held-out photos.
        self.temperature = json.loads(card.read_text()).get("temperature") \
            if card.is_file() and self.deploy.name == "deploy.prototxt" else None
        dims = re.search(r'type:\s*"Input".*?shape\s*{([^}]*)}', text, re.S)
        sides = [int(d) for d in re.findall(r"dim:\s*(\d+)", dims.group(1))] if dims else []
        self.side = sides[-1] if len(sides) == 4 else 224

    @classmethod
    def resolve(cls, model=None, weights=None):
        """--model NAME (a folder models/NAME with deploy.prototxt and weights.caffemodel) or a
        deploy .prototxt path; --weights overrides the folder's weights."""
        model = model or DEFAULT_MODEL
        path = pathlib.Path(model)
        if path.suffix == ".prototxt":
            if weights is None:
                raise ModelError(f"{path}: a deploy file needs --weights FILE.caffemodel")
            return cls(path, weights)
        folder = path if path.is_dir() else MODELS_DIR / model
        if not folder.is_dir():
            known = sorted(p.name for p in MODELS_DIR.iterdir() if (p / "deploy.prototxt").exists()) \
                if MODELS_DIR.is_dir() else []
            raise ModelError(f"{model}: no such model (models/ has: {', '.join(known) or 'none'})")
        return cls(folder / "deploy.prototxt", weights or folder / "weights.caffemodel")

    def describe(self):
        card = self.deploy.parent / "model.json"
        info = json.loads(card.read_text()) if card.exists() and self.deploy.name == "deploy.prototxt" else {}
        return {"deploy": str(self.deploy), "weights": str(self.weights), "family": self.family, **info}


def _layer_block(text, name):
    match = re.search(rf'layer\s*{{\s*name:\s*"{name}".*?(?=\nlayer\s*{{|\Z)', text, re.S)
    return match.group(0) if match else None


def constant_blobs(model):
    """Blobs of the frozen layers whose values the method fixes, for weights that lack them:
    the constant fillers of the deploy's own Scale layers (input centring, conv8_313_rh), which
    pycaffe applies by itself but OpenCV does not, and class8_ab's bin centres, which no filler
    can express."""
    text = model.deploy.read_text()
    blobs = {}
    for name, channels in (("data_y_centred", 1), ("data_l_centred", 1), ("conv8_313_rh", lab313_bins())):
        block = _layer_block(text, name)
        if block is None:
            continue
        scale = re.search(r'\bfiller\s*{\s*type:\s*"constant"\s*value:\s*([-+\deE.]+)', block)
        bias = re.search(r'bias_filler\s*{\s*type:\s*"constant"\s*value:\s*([-+\deE.]+)', block)
        blobs[name] = [np.full(channels, float(scale.group(1)) if scale else 1.0, np.float32)]
        if bias:
            blobs[name].append(np.full(channels, float(bias.group(1)), np.float32))
    if model.family == "lab313":
        centres = lab313.load_centres().astype(np.float32)
        blobs[CENTRES_LAYER] = [centres.T.reshape(2, len(centres), 1, 1)]
    return blobs


def lab313_bins():
    return len(lab313.load_centres())


def _blob_shape(blob):
    if blob.HasField("shape"):
        return tuple(blob.shape.dim)
    return tuple(d for d in (blob.num, blob.channels, blob.height, blob.width))


def _squeezed(shape):
    shape = list(shape)
    while len(shape) > 1 and shape[0] == 1:
        shape.pop(0)
    return tuple(shape)


def check_weights(net, model):
    """Compare the weights file with the deploy net before Caffe loads it (Caffe aborts the
    process on a mismatch); returns the layers the file lacks. Raises ModelError."""
    from caffe.proto import caffe_pb2
    parameters = caffe_pb2.NetParameter()
    try:
        parameters.ParseFromString(model.weights.read_bytes())
    except Exception:  # protobuf raises its own DecodeError; any failure means the same here
        raise ModelError(f"{model.weights}: not a Caffe .caffemodel (cannot be parsed)") from None
    stored = {layer.name: [_blob_shape(b) for b in layer.blobs] for layer in list(parameters.layer) + list(parameters.layers)}
    missing = []
    matched = 0
    for name, blobs in net.params.items():
        if name not in stored or not stored[name]:
            missing.append(name)
            continue
        expected = [tuple(b.data.shape) for b in blobs]
        if len(stored[name]) != len(expected) or any(
                _squeezed(s) != _squeezed(e) for s, e in zip(stored[name], expected)):
            raise ModelError(f"{model.weights}: layer {name} has blobs {stored[name]} but {model.deploy} needs "
                             f"{expected} (weights and deploy file are for different nets)")
        matched += 1
    fixable = set(constant_blobs(model))
    unfixable = [name for name in missing if name not in fixable]
    if unfixable:
        raise ModelError(f"{model.weights}: no weights for layer(s) {', '.join(unfixable[:5])}"
                         f"{' …' if len(unfixable) > 5 else ''} of {model.deploy} (wrong layer names: weights "
                         "and deploy file are for different nets)")
    if matched == 0:
        raise ModelError(f"{model.weights}: shares no layer with {model.deploy}")
    return missing


class CaffeRunner:
    """pycaffe, weights checked first, constant blobs injected where the file lacks them."""
    name = "caffe"

    def __init__(self, model):
        # Caffe's INFO log prints every layer as the net is built: noise for someone colorizing
        # photos (GLOG_minloglevel=0 brings it back). Read once, when pycaffe is first imported.
        os.environ.setdefault("GLOG_minloglevel", "2")
        import caffe
        caffe.set_mode_cpu()
        self.model = model
        self.net = caffe.Net(str(model.deploy), caffe.TEST)
        missing = check_weights(self.net, model)
        self.net.copy_from(str(model.weights))
        # The deploy's fillers already set the other constant layers; only the centres are missing.
        if CENTRES_LAYER in missing:
            self.net.params[CENTRES_LAYER][0].data[...] = constant_blobs(model)[CENTRES_LAYER][0]

    def forward(self, batch, outputs=None):
        outputs = outputs or [self.model.output_name]
        blob = self.net.blobs[self.model.input_name]
        if blob.data.shape != batch.shape:
            blob.reshape(*batch.shape)
            self.net.reshape()
        blob.data[...] = batch
        self.net.forward()
        return {name: self.net.blobs[name].data.copy() for name in outputs}

    def save(self, path):
        """Write every blob, the constant ones included, so no loader needs to inject anything."""
        self.net.save(str(path))


class OpenCVRunner:
    """OpenCV's dnn module (4.x; 5.x dropped the Caffe importer); no Caffe needed."""
    name = "opencv"

    def __init__(self, model):
        if not hasattr(cv2, "dnn") or not hasattr(cv2.dnn, "readNetFromCaffe"):
            raise ModelError(f"OpenCV {cv2.__version__} has no Caffe importer (use OpenCV 4.x or --backend caffe)")
        self.model = model
        try:
            self.net = cv2.dnn.readNetFromCaffe(str(model.deploy), str(model.weights))
        except cv2.error as error:
            raise ModelError(f"{model.weights}: OpenCV cannot load it with {model.deploy}: "
                             f"{str(error).strip().splitlines()[-1]}") from None
        names = set(self.net.getLayerNames())
        for name, blobs in constant_blobs(model).items():
            if name in names:
                layer = self.net.getLayer(self.net.getLayerId(name))
                if len(layer.blobs) == 0:
                    layer.blobs = [b.reshape(1, -1) if b.ndim == 1 else b for b in blobs]

    def forward(self, batch, outputs=None):
        outputs = outputs or [self.model.output_name]
        self.net.setInput(np.ascontiguousarray(batch, dtype=np.float32), self.model.input_name)
        try:
            values = self.net.forward(outputs)
        except cv2.error as error:
            raise ModelError(f"{self.model.weights}: OpenCV forward failed with {self.model.deploy}: "
                             f"{str(error).strip().splitlines()[-1]}") from None
        return dict(zip(outputs, values))


def runner(model, backend=None):
    """The net of `model` on `backend`: "opencv", "caffe", or None, the default: OpenCV's dnn
    (2.6x faster a photo than pycaffe here, bench/bench_infer.py), or pycaffe with a one-line
    note where OpenCV cannot load the deploy net (the Lab/313 nets' Python layers, say)."""
    if backend is None:
        try:
            return OpenCVRunner(model)
        except ModelError as error:
            log.info("%s; using pycaffe", error)
            return CaffeRunner(model)
    if backend == "caffe":
        return CaffeRunner(model)
    if backend == "opencv":
        return OpenCVRunner(model)
    raise ValueError(f"unknown backend {backend!r} (caffe or opencv)")


def luminance(bgr, family):
    """The photo's own luminance at full resolution (BGR H×W×3 or grey H×W in): L 0..100 as float32 (lab313) or Y 0..255 as
    uint8 (yuv64; OpenCV's BGR→grey: the Y of its BGR→YUV, without computing U and V, within one
    level on 0.04 % of colour pixels and exact on grey ones)."""
    if family == "lab313":
        lum = np.empty(bgr.shape[:2], np.float32)
        for rows in chroma_upsample.row_bands(bgr.shape[0]):
            band = bgr[rows] if bgr.ndim == 3 else cv2.cvtColor(bgr[rows], cv2.COLOR_GRAY2BGR)
            lum[rows] = lab313.bgr8_to_l(band)
        return lum
    return cv2.cvtColor(bgr, cv2.COLOR_BGR2GRAY) if bgr.ndim == 3 else bgr


def net_input(lum, side):
    """The net's side×side input: one area resampling of the full photo, in 8 bits. (Halving
    first by exact 2×2 averages is 10× faster, but the result moves by up to 5 levels at edges.)"""
    return cv2.resize(lum, (side, side), interpolation=cv2.INTER_AREA).astype(np.float32)


def decode(outputs, family, temperature=DEFAULT_TEMPERATURE, method="mean", codec=None):
    """Net output → N×2×h×w chroma: ab (lab313) or centred UV offsets (yuv64)."""
    if family == "lab313":
        return lab313.annealed_expectation(outputs["conv8_313"], lab313.load_centres(), temperature)
    codec = codec or Codec()
    offsets = codec.class_uv_offsets.astype(np.float32)  # 64×2 decoded (u, v) − 128
    probabilities = outputs["prob"]
    if method == "argmax":
        return offsets[probabilities.argmax(axis=1)].transpose(0, 3, 1, 2)
    log_p = np.log(np.clip(probabilities, 1e-12, None))
    return lab313.annealed_expectation(log_p, offsets, temperature)


def compose(lum, chroma, family, guided=True):
    """Full-resolution luminance H×W + low-resolution chroma 2×h×w → uint8 BGR H×W×3.

    guided: edge-aware upsampling (colorize/upsample.py), else cubic. yuv64 works in 8 bits
    (the chroma is rounded to whole levels, as the output is); lab313 in float, band by band.
    """
    if family == "lab313":
        return _compose_lab(lum, chroma, guided)
    uv = upsample_uv(lum, chroma, guided)
    bgr = np.empty(lum.shape + (3,), np.uint8)
    for rows in chroma_upsample.row_bands(lum.shape[0]):
        bgr[rows] = cv2.cvtColor(cv2.merge([lum[rows], uv[rows]]), cv2.COLOR_YUV2BGR)
    return bgr


def upsample_uv(lum, chroma, guided=True):
    """yuv64: Y uint8 H×W + UV offsets 2×h×w → U, V as uint8 H×W×2 (128 = neutral)."""
    return chroma_upsample.upsample(chroma, lum, 255, offset=128.0, guided=guided)


def _compose_lab(lum, chroma, guided):
    ab = chroma_upsample.upsample(chroma, lum, 100, dtype=np.float32, guided=guided)
    bgr = np.empty(lum.shape + (3,), np.uint8)
    for rows in chroma_upsample.row_bands(lum.shape[0]):
        bgr[rows] = lab313.lab_to_bgr(np.dstack([lum[rows], ab[rows]]))
    return bgr


class Colorizer:
    """Photos in (uint8 BGR H×W×3 or grey H×W, any size) → colorized BGR photos out, in batches.

    guided: edge-aware chroma upsampling (default) or plain cubic. max_pixels: larger photos are
    refused (photo_io.PixelLimitExceeded) before any work is done on them.
    """

    def __init__(self, model, backend=None, temperature=None, method="mean", guided=True,
                 max_pixels=DEFAULT_MAX_PIXELS):
        self.model = model
        # None: the model's own (its card's, for a fine-tuned one), else DEFAULT_TEMPERATURE.
        if temperature is None:
            temperature = model.temperature or DEFAULT_TEMPERATURE
        if not temperature > 0:
            raise ValueError(f"temperature must be positive, got {temperature}")
        self.runner = runner(model, backend)
        self.temperature, self.method, self.guided, self.max_pixels = temperature, method, guided, max_pixels
        self.hint_weight = DEFAULT_PRIOR_WEIGHT

    def chroma(self, lums):
        return self.chroma_of(self.net_batch(lums))

    def net_batch(self, lums):
        """Luminances → the net's N×1×side×side input batch."""
        return np.stack([net_input(lum, self.model.side) for lum in lums])[:, None].astype(np.float32)

    def chroma_of(self, batch):
        """The net's input batch → N×2×h×w chroma."""
        return decode(self.runner.forward(batch), self.model.family, self.temperature, self.method)

    def with_settings(self, **settings):
        """This colorizer with other decoding settings (temperature, method, guided, max_pixels,
        hint_weight) over the same loaded net: a per-request change costs no net."""
        unknown = set(settings) - {"temperature", "method", "guided", "max_pixels", "hint_weight"}
        if unknown:
            raise ValueError(f"not a per-request setting: {', '.join(sorted(unknown))}")
        if settings.get("temperature", 1) is None:
            settings["temperature"] = self.model.temperature or DEFAULT_TEMPERATURE
        if "temperature" in settings and not settings["temperature"] > 0:
            raise ValueError(f"temperature must be positive, got {settings['temperature']}")
        other = copy.copy(self)
        other.__dict__.update(settings)
        return other

    def settings(self):
        """What rebuilds this colorizer elsewhere (colorize/net_process.py): Colorizer(**settings())."""
        return dict(model=self.model, backend=self.runner.name, temperature=self.temperature, method=self.method,
                    guided=self.guided, max_pixels=self.max_pixels)

    def colorize(self, photos, hints=None):
        """hints: per photo a list of hints.Hint (or None), spread over the net's colours."""
        for photo in photos:
            check_pixels(photo.shape[1], photo.shape[0], self.max_pixels, "photo")
        hints = hints or [None] * len(photos)
        lums = [luminance(photo, self.model.family) for photo in photos]
        return [compose(lum, hinted_chroma(lum, chroma, photo_hints, self.model.family, self.hint_weight)
                        if photo_hints else chroma,
                        self.model.family, self.guided)
                for lum, chroma, photo_hints in zip(lums, self.chroma(lums), hints)]

    def palette(self, photo, x, y, count=9):
        """The `count` colours the net finds likeliest at photo pixel (x, y), likeliest first, as
        #rrggbb at the photo's own luminance there (ideepcolor offers 9 such as a palette)."""
        lum = luminance(photo, self.model.family)
        outputs = self.runner.forward(self.net_batch([lum]))
        scores = outputs[self.model.output_name][0]
        row = min(int(y * scores.shape[1] / lum.shape[0]), scores.shape[1] - 1)
        col = min(int(x * scores.shape[2] / lum.shape[1]), scores.shape[2] - 1)
        at = scores[:, row, col]
        if self.model.family == "lab313":
            chroma, lum_at = lab313.load_centres(), float(lum[int(y), int(x)])
        else:
            chroma, lum_at = Codec().class_uv_offsets.astype(np.float32), int(lum[int(y), int(x)])
        colours = []
        for label in np.argsort(-at)[:count]:
            if self.model.family == "lab313":
                bgr = lab313.lab_to_bgr(np.float32([[[lum_at, *chroma[label]]]]))[0, 0]
            else:
                yuv = np.uint8([[[lum_at, *np.clip(np.rint(chroma[label] + 128), 0, 255)]]])
                bgr = cv2.cvtColor(yuv, cv2.COLOR_YUV2BGR)[0, 0]
            colours.append("#%02x%02x%02x" % (int(bgr[2]), int(bgr[1]), int(bgr[0])))
        return colours


def encode(image, image_format):
    """uint8 BGR → PNG or JPEG bytes, the same settings everywhere (command line, server, video
    stills), so the same photo and settings give the same bytes."""
    params = [cv2.IMWRITE_JPEG_QUALITY, 92] if image_format == "jpg" else []
    ok, payload = cv2.imencode(f".{image_format}", image, params)
    if not ok:
        raise ValueError(f"OpenCV could not encode the result as {image_format}")
    return payload.tobytes()


def available_models(folder=None):
    """{name: model card facts} for every model folder (deploy.prototxt + weights) in models/."""
    folder = pathlib.Path(folder or MODELS_DIR)
    models = {}
    for path in sorted(folder.iterdir()) if folder.is_dir() else []:
        if (path / "deploy.prototxt").is_file() and (path / "weights.caffemodel").is_file():
            card = path / "model.json"
            models[path.name] = json.loads(card.read_text()) if card.is_file() else {}
    return models
