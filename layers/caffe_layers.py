"""``caffe.Layer`` adapters over colornet's pure-numpy layer functions.

Every layer takes its parameters as a JSON object in ``param_str`` (see each class's defaults),
checks its bottom/top counts in ``setup``, recomputes shapes in ``reshape`` and honours
``propagate_down``.
"""
import json

import numpy as np

import caffe

from colornet.colour import hint_evidence, hint_maps, lab313, yuv64
from layers.interpreter import interpreter_report
from layers.params import check_blob_counts, parse_param_str
from colornet.colour.rebalance import rebalance_backward


def boost_weights_from(name, prior_path, weigh):
    """``weigh(prior)`` for the prior .npy at ``prior_path``; any failure is one ValueError
    naming the layer and the file."""
    try:
        return weigh(np.load(lab313.repo_path(prior_path)))
    except (OSError, ValueError, IndexError) as error:
        raise ValueError(f"{name}: {prior_path}: {error}") from None


class _PassThroughForward:
    """Forward of the layers whose top is their first bottom unchanged."""

    def reshape(self, bottom, top):
        top[0].reshape(*bottom[0].data.shape)

    def forward(self, bottom, top):
        top[0].data[...] = bottom[0].data


class ClassRebalanceMultLayer(_PassThroughForward, caffe.Layer):
    """bottom[0]: prediction N×C×H×W; bottom[1]: pixel weights N×1×H×W → top[0]: N×C×H×W.

    Forward is the identity; backward scales the gradient by the pixel weights. No gradient
    goes to the weights. param_str: none.
    """
    defaults = {}

    def setup(self, bottom, top):
        check_blob_counts(type(self).__name__, bottom, top, 2, 1)
        parse_param_str(self.param_str, self.defaults, type(self).__name__)

    def backward(self, top, propagate_down, bottom):
        if propagate_down[0]:
            bottom[0].diff[...] = rebalance_backward(top[0].diff, bottom[1].data)


class InterpreterReportLayer(_PassThroughForward, caffe.Layer):
    """Identity on one blob that, in ``setup``, writes which interpreter and packages it runs on.

    bottom[0] → top[0], any shape. param_str: {"report": path of the JSON file to write}.
    """
    defaults = {"report": ""}

    def setup(self, bottom, top):
        name = type(self).__name__
        check_blob_counts(name, bottom, top, 1, 1)
        params = parse_param_str(self.param_str, self.defaults, name)
        if not params["report"]:
            raise ValueError(f"{name}: param_str needs \"report\": the JSON file to write")
        with open(params["report"], "w") as report_file:
            json.dump(interpreter_report(), report_file, indent=1)

    def backward(self, top, propagate_down, bottom):
        if propagate_down[0]:
            bottom[0].diff[...] = top[0].diff


class BGR2LabLayer(caffe.Layer):
    """bottom[0]: N×3×H×W BGR 0..255 → top[0]: N×3×H×W CIE Lab (D65). No backward.
    param_str: none."""
    defaults = {}

    def setup(self, bottom, top):
        check_blob_counts(type(self).__name__, bottom, top, 1, 1)
        parse_param_str(self.param_str, self.defaults, type(self).__name__)
        if bottom[0].data.ndim != 4 or bottom[0].data.shape[1] != 3:
            raise ValueError(f"{type(self).__name__}: bottom must be N×3×H×W BGR, got {bottom[0].data.shape}")

    def reshape(self, bottom, top):
        top[0].reshape(*bottom[0].data.shape)

    def forward(self, bottom, top):
        top[0].data[...] = lab313.bgr_to_lab(bottom[0].data)

    def backward(self, top, propagate_down, bottom):
        pass  # the colour conversion sits on the data path: nothing learns below it


class NNEncLayer(caffe.Layer):
    """bottom[0]: N×2×H×W ab → top[0]: N×Q×H×W soft encoding over the Q bin centres.

    param_str: {"k": nearest bins (5), "sigma": Gaussian σ in ab units (5.0),
                "centres": bin centres .npy (data/pts_in_hull.npy)}. No backward.
    """
    defaults = {"k": 5, "sigma": 5.0, "centres": lab313.DEFAULT_CENTRES}

    def setup(self, bottom, top):
        name = type(self).__name__
        check_blob_counts(name, bottom, top, 1, 1)
        params = parse_param_str(self.param_str, self.defaults, name)
        try:
            self.encoder = lab313.SoftEncoder(lab313.load_centres(params["centres"]), params["k"], params["sigma"])
        except (OSError, ValueError) as error:
            raise ValueError(f"{name}: {error}") from None

    def reshape(self, bottom, top):
        n, _, h, w = bottom[0].data.shape
        top[0].reshape(n, len(self.encoder.centres), h, w)

    def forward(self, bottom, top):
        self.encoder.encode(bottom[0].data, out=top[0].data)

    def backward(self, top, propagate_down, bottom):
        pass


class PriorBoostLayer(caffe.Layer):
    """bottom[0]: N×Q×H×W soft targets → top[0]: N×1×H×W rebalancing weight of each pixel's
    most likely bin, w ∝ ((1 − λ)p + λ/Q)^−1 with Σ p·w = 1.

    param_str: {"prior": prior .npy (data/prior_probs.npy, from tools/compute_prior.py),
                "lambda": mix with the uniform distribution (0.5)}. No backward.
    """
    defaults = {"prior": lab313.DEFAULT_PRIOR, "lambda": 0.5}

    def setup(self, bottom, top):
        name = type(self).__name__
        check_blob_counts(name, bottom, top, 1, 1)
        params = parse_param_str(self.param_str, self.defaults, name)
        self.bin_weights = boost_weights_from(
            name, params["prior"], lambda prior: lab313.prior_boost_weights(prior, params["lambda"]))
        if bottom[0].data.shape[1] != len(self.bin_weights):
            raise ValueError(f"{name}: bottom has {bottom[0].data.shape[1]} channels, the prior {len(self.bin_weights)} bins")

    def reshape(self, bottom, top):
        n, _, h, w = bottom[0].data.shape
        top[0].reshape(n, 1, h, w)

    def forward(self, bottom, top):
        top[0].data[...] = lab313.prior_boost(bottom[0].data, self.bin_weights)

    def backward(self, top, propagate_down, bottom):
        pass


class ClassBoostLayer(caffe.Layer):
    """bottom[0]: N×1×H×W hard class labels → top[0]: N×1×H×W rebalancing weight of each
    pixel's class, w ∝ ((1 − λ)p + λ/Q)^−1 with Σ p·w = 1 (the YUV-64 nets' prior boost; the
    ignored class gets 0).

    param_str: {"prior": class prior .npy (data/yuv64_prior_probs.npy, from
                tools/inspect_lmdb.py --prior), "lambda": mix with the uniform distribution (0.5),
                "ignore_label": the class the loss skips (36; −1: none)}. No backward.
    """
    defaults = {"prior": yuv64.DEFAULT_PRIOR, "lambda": 0.5, "ignore_label": yuv64.grey_class()}

    def setup(self, bottom, top):
        name = type(self).__name__
        check_blob_counts(name, bottom, top, 1, 1)
        params = parse_param_str(self.param_str, self.defaults, name)
        self.class_weights = boost_weights_from(
            name, params["prior"], lambda prior: yuv64.class_boost_weights(prior, params["lambda"], params["ignore_label"]))
        if bottom[0].data.ndim != 4 or bottom[0].data.shape[1] != 1:
            raise ValueError(f"{name}: bottom must be N×1×H×W class labels, got {bottom[0].data.shape}")

    def reshape(self, bottom, top):
        top[0].reshape(*bottom[0].data.shape)

    def forward(self, bottom, top):
        top[0].data[...] = yuv64.class_boost(bottom[0].data, self.class_weights)

    def backward(self, top, propagate_down, bottom):
        pass


class NonGrayMaskLayer(caffe.Layer):
    """bottom[0]: N×2×H×W ab → top[0]: N×1×H×W, 1 over images with any |a| or |b| above the
    threshold, 0 over grey ones. param_str: {"threshold": 5.0}. No backward."""
    defaults = {"threshold": 5.0}

    def setup(self, bottom, top):
        name = type(self).__name__
        check_blob_counts(name, bottom, top, 1, 1)
        self.threshold = parse_param_str(self.param_str, self.defaults, name)["threshold"]

    def reshape(self, bottom, top):
        n, _, h, w = bottom[0].data.shape
        top[0].reshape(n, 1, h, w)

    def forward(self, bottom, top):
        top[0].data[...] = lab313.non_grey_mask(bottom[0].data, self.threshold)

    def backward(self, top, propagate_down, bottom):
        pass


class SoftmaxCrossEntropyLossLayer(caffe.Layer):
    """bottom[0]: scores N×Q×H×W, bottom[1]: soft targets N×Q×H×W → top[0]: scalar loss
    −Σ t·log softmax(z) over classes and pixels, divided by N (what the original's custom C++
    layer computed). Gradient to the scores only. param_str: none. Needs `loss_weight: 1`
    in the prototxt (Python layers are not loss layers by default)."""
    defaults = {}

    def setup(self, bottom, top):
        name = type(self).__name__
        check_blob_counts(name, bottom, top, 2, 1)
        parse_param_str(self.param_str, self.defaults, name)

    def reshape(self, bottom, top):
        if bottom[0].data.shape != bottom[1].data.shape:
            raise ValueError(f"{type(self).__name__}: scores {bottom[0].data.shape} and targets "
                             f"{bottom[1].data.shape} differ in shape")
        top[0].reshape(1)

    def forward(self, bottom, top):
        loss, self.gradient = lab313.soft_cross_entropy(bottom[0].data, bottom[1].data)
        top[0].data[...] = loss

    def backward(self, top, propagate_down, bottom):
        if propagate_down[0]:
            bottom[0].diff[...] = self.gradient * top[0].diff[0]


class HintSimulationLayer(caffe.Layer):
    """bottom[0]: YUV-64 class labels N×1×H×W → top[0]: hint maps N×3×H×W (U, V, mask), drawn
    afresh every forward as colornet/colour/hint_maps.py says (training a hint-conditioned net).

    param_str: {"p": geometric parameter of the number of patches, "max_side": largest patch
    side in pixels, "seed": of the draws (0: from the OS)}. No backward (the labels are data).
    """
    defaults = {"p": hint_maps.POINTS_P, "max_side": hint_maps.MAX_SIDE, "seed": 0}

    def setup(self, bottom, top):
        check_blob_counts(type(self).__name__, bottom, top, 1, 1)
        self.params = parse_param_str(self.param_str, self.defaults, type(self).__name__)
        if not 0 < self.params["p"] <= 1 or self.params["max_side"] < 1:
            raise ValueError(f"{type(self).__name__}: p must be in (0, 1] and max_side at least 1, got {self.params}")
        self.rng = np.random.default_rng(self.params["seed"] or None)

    def reshape(self, bottom, top):
        count, _, height, width = bottom[0].data.shape
        top[0].reshape(count, hint_maps.CHANNELS, height, width)

    def forward(self, bottom, top):
        chroma = hint_maps.class_chroma(bottom[0].data[:, 0])
        top[0].data[...] = hint_maps.simulate(chroma, self.rng, self.params["p"], self.params["max_side"])

    def backward(self, top, propagate_down, bottom):
        pass


class HintEvidenceLayer(caffe.Layer):
    """bottom[0]: hint maps N×3×H×W; bottom[1]: features N×F×h×w on the score grid → top[0]:
    evidence N×(K·64)×h×w, top[1]: confidence N×K×h×w (colornet/colour/hint_evidence.py).

    param_str: hint_evidence.DEFAULTS (stride of the score grid, reach of "near" and "alike" as
    shares of the grid's side, the cosine temperatures of "alike", sigma in class steps). No
    backward: the hints are data and the features come from frozen layers.
    """
    defaults = hint_evidence.DEFAULTS

    def setup(self, bottom, top):
        check_blob_counts(type(self).__name__, bottom, top, 2, 2)
        self.params = parse_param_str(self.param_str, self.defaults, type(self).__name__)
        if self.params["stride"] < 1 or self.params["sigma"] <= 0 or self.params["near"] <= 0 \
                or self.params["reach"] <= 0 or any(tau <= 0 for tau in self.params["alike"]):
            raise ValueError(f"{type(self).__name__}: stride ≥ 1 and positive sigma, near, reach and alike "
                             f"temperatures needed, got {self.params}")
        self.places = hint_evidence.class_places()

    def reshape(self, bottom, top):
        count, _, height, width = bottom[1].data.shape
        if bottom[0].data.shape[2] < height * self.params["stride"] or bottom[0].data.shape[3] < width * self.params["stride"]:
            raise ValueError(f"{type(self).__name__}: hints {bottom[0].data.shape} smaller than the score grid "
                             f"{bottom[1].data.shape} × stride {self.params['stride']}")
        kinds = hint_evidence.kinds(self.params)
        top[0].reshape(count, kinds * len(self.places[0]), height, width)
        top[1].reshape(count, kinds, height, width)

    def forward(self, bottom, top):
        top[0].data[...], top[1].data[...] = hint_evidence.evidence(bottom[0].data, bottom[1].data, self.params,
                                                                    self.places)

    def backward(self, top, propagate_down, bottom):
        pass
