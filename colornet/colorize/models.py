"""Models and the backends that run them: a deploy net and its weights (Model), their checks
(weights that fit the deploy, constant blobs the file may lack), pycaffe and OpenCV's dnn
(CaffeRunner, OpenCVRunner; OpenCV by default where it loads the net), and the models in models/."""
import json
import logging
import os
import pathlib
import re

import cv2
import numpy as np

from colornet.colorize import families
from colornet.colorize.hint_transfer import HintTransfer, TransferError
from colornet.common import REPO_ROOT
from colornet.colour import lab313

log = logging.getLogger("colorize")
MODELS_DIR = REPO_ROOT / "models"
DEFAULT_MODEL = "default"
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
        if len(inputs) == 1 and inputs[0] in families.BY_INPUT:
            kind = families.BY_INPUT[inputs[0]]
            self.family, self.input_name, self.output_name = kind.name, kind.input_name, kind.output_name
        else:
            raise ModelError(f"{self.deploy}: not a colornet deploy net (need one Input layer, data_l or data_y; "
                             f"found {inputs or 'none'})")
        card_path = self.deploy.parent / "model.json"
        card = json.loads(card_path.read_text()) if card_path.is_file() and self.deploy.name == "deploy.prototxt" else {}
        # The decoding chosen for these weights (on val, or on a fine-tuning's held-out photos):
        # temperature, method and the per-class calibration (colorize/decoding.py).
        self.temperature = card.get("temperature")
        self.method = card.get("decode")
        self.class_scale = card.get("class_scale")
        self.dark_limit = card.get("dark_limit", 0)
        # The hint-conditioned net beside it (colorize/hint_net.py) and the weight of its colours
        # beside the hints' propagation, both chosen on val (bench/bench_hints.py).
        hint_net = card.get("hint_net")
        own_weights = self.weights == self.deploy.parent / "weights.caffemodel"
        self.hint_net = (self.deploy.parent / hint_net["deploy"], self.deploy.parent / hint_net["weights"]) \
            if hint_net and own_weights else None
        # How hinted photos are made from the net's colours (colorize/hint_transfer.py); where the
        # card names it, its weight and reach are the ones chosen with it.
        transfer = card.get("hint_transfer") if own_weights else None
        try:
            self.hint_transfer = HintTransfer.from_card(transfer, card_path) if transfer else None
        except (TransferError, TypeError) as error:
            raise ModelError(f"{error}; re-export the model") from None
        if self.hint_transfer and self.hint_transfer.base == "hint_net" and not self.hint_net:
            raise ModelError(f"{card_path}: hint_transfer.base is hint_net but the card names no hint_net")
        chosen = transfer or (hint_net if self.hint_net else None)
        # They belong to the weights they were chosen with: with other weights they do not apply.
        self.hint_weight = chosen.get("hint_weight") if chosen else None
        self.hint_reach = chosen.get("hint_reach", 0) if chosen else 0
        classes = len(families.family(self.family).class_colours())
        if self.class_scale is not None and len(self.class_scale) != classes:
            raise ModelError(f"{card_path}: class_scale must list {classes} factors, one per {self.family} class "
                             f"(found {len(self.class_scale)}); re-export the model")
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
        # A name in models/ first: "docs" or "data" would otherwise be the checkout's own folders.
        folder = MODELS_DIR / model if (MODELS_DIR / model).is_dir() or not path.is_dir() else path
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
    the constant fillers of the deploy's own Scale layers (input centring, the squeeze Lab net's
    L → grey, conv8_313_rh), which pycaffe applies by itself but OpenCV does not, and class8_ab's
    bin centres, which no filler can express."""
    text = model.deploy.read_text()
    blobs = {}
    for name, channels in (("data_y_centred", 1), ("data_l_centred", 1), ("data_l_grey", 1),
                           ("conv8_313_rh", lab313_bins())):
        block = _layer_block(text, name)
        if block is None:
            continue
        scale = re.search(r'\bfiller\s*{\s*type:\s*"constant"\s*value:\s*([-+\deE.]+)', block)
        bias = re.search(r'bias_filler\s*{\s*type:\s*"constant"\s*value:\s*([-+\deE.]+)', block)
        blobs[name] = [np.full(channels, float(scale.group(1)) if scale else 1.0, np.float32)]
        if bias:
            blobs[name].append(np.full(channels, float(bias.group(1)), np.float32))
    if not families.family(model.family).has_classes:  # the Lab/313 nets' bin centres
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
        # OpenCV reads a layer type it has no implementation of (Caffe's Python layers) without a
        # word and fails only when the net first runs: run it once now, so that such a net is
        # refused here and the default backend falls back to pycaffe.
        self.net.setInput(np.zeros((1, 1, model.side, model.side), np.float32), model.input_name)
        try:
            self.net.forward(model.output_name)
        except cv2.error as error:
            raise ModelError(f"{model.weights}: OpenCV cannot load it with {model.deploy}: "
                             f"{str(error).strip().splitlines()[-1]}") from None

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


def available_models(folder=None):
    """{name: model card facts} for every model folder (deploy.prototxt + weights) in models/."""
    folder = pathlib.Path(folder or MODELS_DIR)
    models = {}
    for path in sorted(folder.iterdir()) if folder.is_dir() else []:
        if (path / "deploy.prototxt").is_file() and (path / "weights.caffemodel").is_file():
            card = path / "model.json"
            models[path.name] = json.loads(card.read_text()) if card.is_file() else {}
    return models
