"""A model's hint-conditioned net (its card's "hint_net": colornet/nets/squeeze_hints.py): the
automatic net's weights plus the hints' gains, run on pycaffe (its HintEvidenceLayer is a Python
layer OpenCV's dnn cannot run), with the user's hints as a second input.

The card names the deploy file and a weights file that holds only the hint layers; the rest come
from the model's own weights.caffemodel, so the two nets cannot drift apart.
"""
import os
import threading

import numpy as np

from colornet.colour import hint_maps
from colornet.colorize.models import ModelError

HINTS_INPUT = "hints"
CONFIDENCE = "hint_confidence"


class HintNet:
    """The hint net of `model` (a colorize.models.Model whose card has "hint_net")."""

    def __init__(self, model):
        os.environ.setdefault("GLOG_minloglevel", "2")
        import caffe
        caffe.set_mode_cpu()
        self.model = model
        deploy, gains = model.hint_net
        for path in (deploy, gains):
            if not path.is_file():
                raise ModelError(f"{path}: missing; the card {model.deploy.parent / 'model.json'} names it "
                                 "under hint_net (re-export with tools/export_model.py --hint-net)")
        self.net = caffe.Net(str(deploy), caffe.TEST)
        self.net.copy_from(str(model.weights))
        self.net.copy_from(str(gains))

    def forward(self, batch, hint_batch):
        """Luminance batch N×1×side×side and hint maps N×3×side×side → {output: probabilities,
        "hint_confidence": N×kinds×h×w, how sure each kind of the hints' evidence is where}."""
        for name, values in ((self.model.input_name, batch), (HINTS_INPUT, hint_batch)):
            blob = self.net.blobs[name]
            if blob.data.shape != values.shape:
                blob.reshape(*values.shape)
        self.net.reshape()
        self.net.blobs[self.model.input_name].data[...] = batch
        self.net.blobs[HINTS_INPUT].data[...] = hint_batch
        self.net.forward()
        return {name: self.net.blobs[name].data.copy() for name in (self.model.output_name, CONFIDENCE)}


class HintNetSlot:
    """The hint net, loaded on first use and shared by a Colorizer and its with_settings copies
    (one per model: it is what is expensive)."""

    def __init__(self, model):
        self.model = model
        self.net = None
        self.lock = threading.Lock()

    def get(self):
        with self.lock:
            if self.net is None:
                self.net = HintNet(self.model)
            return self.net


def hint_map_batch(hints_per_photo, shapes, side):
    """Per photo its hints (colorize.hints.Hint, photo pixels) and shape → N×3×side×side maps on
    the net's input grid (the photo resampled to side×side)."""
    return np.stack([hint_maps.render(hints, side, side, scale_y=side / shape[0], scale_x=side / shape[1])
                     for hints, shape in zip(hints_per_photo, shapes)]).astype(np.float32)
