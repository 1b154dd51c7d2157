"""``caffe.Layer`` adapters over colornet's pure-numpy layer functions.

Every layer takes its parameters as a JSON object in ``param_str`` (see each class's defaults),
checks its bottom/top counts in ``setup``, recomputes shapes in ``reshape`` and honours
``propagate_down``.
"""
import json

import caffe

from layers.interpreter import interpreter_report
from layers.params import check_blob_counts, parse_param_str
from layers.rebalance import rebalance_backward


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
