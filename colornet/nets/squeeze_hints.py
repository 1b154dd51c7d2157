"""The hint-conditioned squeeze net: the shipped squeeze net's trunk and head, frozen, plus the
user's colour hints as three more input channels (U, V, mask: colornet/colour/hint_maps.py).

The hints do not enter through convolutions to be learned from scratch: two runs of that design
(the pooled hints into fire9's reduction and head1 through zero-initialised convolutions, the
head learning too) left the colours unmoved after 1,000 CPU iterations (docs/hints.md), since the
hints cover about 1 % of a crop's pixels. Instead HintEvidenceLayer (colornet/colour/
hint_evidence.py) turns them into class evidence of a few kinds of reach — the hinted cell, the
cells near it, the cells whose hypercolumn features look alike — and the net learns only how
much to trust each kind where: one gain map per kind, a 1×1 convolution over the confidences
and the hypercolumn, initialised to zero. The class scores become

    scores + Σ_kind gain_kind · evidence_kind

so with no hints (zero evidence) they are exactly the automatic net's, trained or not, and
before training they are the automatic net's whatever the hints.

Training (squeeze.squeeze_train_val("head", hint_seed=…)) simulates the hints from each crop's
own colours (layers.caffe_layers.HintSimulationLayer, ideepcolor's draws) and starts from the
automatic model's weights: `caffe train --weights models/default/weights.caffemodel`.
"""
import json

from colornet.colour import hint_evidence
from colornet.nets import squeeze
from colornet.nets.color import YUV64_CLASSES

HINT_CHANNELS = 3
EVIDENCE = dict(hint_evidence.DEFAULTS)
KINDS = hint_evidence.kinds(EVIDENCE)
# (base lr, gamma, stepsize, iterations, snapshot): only the gains learn (a few hundred weights).
SCHEDULE = (1e-3, 0.3, 1500, 2000, 250)


def evidence_branch(L, P, ns, hints, hypercolumn, scores, head_param):
    """scores + Σ_kind gain_kind ⊙ evidence_kind (gains zero-initialised, learning)."""
    ns.hint_evidence, ns.hint_confidence = L.Python(
        hints, hypercolumn, ntop=2, python_param=dict(module="layers.caffe_layers", layer="HintEvidenceLayer",
                                                      param_str=json.dumps(EVIDENCE, sort_keys=True)))
    ns.hint_gain_in = L.Concat(ns.hint_confidence, hypercolumn)
    zero = dict(type="constant", value=0)
    ns.hint_gain = L.Convolution(ns.hint_gain_in, num_output=KINDS, kernel_size=1, weight_filler=zero,
                                 bias_filler=zero, **({"param": head_param} if head_param else {}))
    gains = L.Slice(ns.hint_gain, ntop=KINDS, slice_param=dict(axis=1))
    evidences = L.Slice(ns.hint_evidence, ntop=KINDS, slice_param=dict(axis=1))
    terms = []
    for kind in range(KINDS):
        setattr(ns, f"hint_gain{kind}", gains[kind])
        setattr(ns, f"hint_evidence{kind}", evidences[kind])
        tiled = L.Tile(gains[kind], tile_param=dict(axis=1, tiles=YUV64_CLASSES))
        setattr(ns, f"hint_gain{kind}_tiled", tiled)
        term = L.Eltwise(tiled, evidences[kind], operation=P.Eltwise.PROD)
        setattr(ns, f"hint_term{kind}", term)
        terms.append(term)
    ns.scores_hinted = L.Eltwise(scores, *terms)
    return ns.scores_hinted


def train_val(seed=0):
    # The head stage's net, head frozen, with the hints simulated from its labels.
    return squeeze.squeeze_train_val("head", hint_seed=seed)


def deploy():
    return squeeze.squeeze_deploy(hint_channels=HINT_CHANNELS)


def solver():
    return squeeze.head_solver("hints", SCHEDULE)
