"""The squeeze family with Zhang et al.'s Lab/313 classes (issue 39: "Lab/313 too if it does
better on val"): the same ImageNet-trained trunk and colour head as colornet/nets/squeeze.py,
ending in 313 ab bins on fire3's grid (a quarter of the input's side, as Zhang's net) under the
stock Lab/313 loss of colornet/nets/lab313.py (soft encoding, prior boost λ 0.5, grey photos
weighing 0), from the Lab LMDB of the same photos at the same three scales.

The trunk sees L·2.55 − 117: L* on 0..255 in place of Y, which it was decoded to see (the two
differ by the curve only, about 10 levels in the mid-tones). The deploy net takes L 0..100
(blob data_l) and answers conv8_313, so the Lab/313 family of the colorize pipeline runs it
unchanged.

Trained by `caffe train --solver prototxt/solver_squeeze_lab.prototxt --weights
models/squeezenet/squeezenet_grey.caffemodel,prototxt/squeeze_lab_constants.caffemodel` (the
loss's frozen constants from the world photos' prior; `make train-squeeze-lab`).
"""
from colornet.colour import lab313 as lab313_colour
from colornet.nets import lab313, squeeze, squeezenet
from colornet.nets.common import FROZEN, caffe_modules, lmdb_data, net_path

VARIANT = squeeze.SQUEEZE
TRAIN_LMDB = "data/train_scales_lab_lmdb"
# Its own val records (at make's SIZE, centre-cropped): make lmdb-lab writes data/val_lab_lmdb at 256.
VAL_LMDB = "data/val_squeeze_lab_lmdb"
# The 313-bin prior of the train photos (make lmdb-scales-lab), for the loss's prior boost.
PRIOR = "data/lab313_prior_probs_world.npy"
CONSTANTS = "squeeze_lab_constants.caffemodel"
CLASSES = ("conv8_313", lab313.LAB_BINS)
# The head stage's schedule (squeeze.STAGES["head"]: trunk frozen, head from scratch), run on to 4,000
# iterations: its val loss was still falling at 2,000 (4,109, 4,033, 4,063, 3,801 at 500-2,000).
# (base lr, gamma, stepsize, iterations, snapshot interval)
SCHEDULE = (1e-3, 0.3, 1500, 4000, 500)


def scores(L, P, ns, data_l, head_param=None):
    """The trunk (frozen where the head learns) and the head's conv8_313 on fire3's grid."""
    frozen = FROZEN * 2 if head_param else None
    grey = squeeze.grey_input(L, ns, data_l, "data_l_grey", lab313_colour.LAB8_L_SCALE)
    tops = squeezenet.squeezenet_trunk(L, P, ns, grey, conv1_pad=4, frozen=frozen)
    return squeeze.colour_head(L, P, ns, tops, head_param, classes=CLASSES)


def train_val():
    caffe, L, P = caffe_modules()
    ns = caffe.NetSpec()
    val_layer = lmdb_data(caffe, L, P, ns, VARIANT, TRAIN_LMDB, VAL_LMDB)
    ns.data_l8, ns.data_ab8 = L.Slice(ns.data, slice_param=dict(axis=1, slice_point=1), ntop=2)
    ns.data_l = L.Power(ns.data_l8, power_param=dict(scale=1 / lab313_colour.LAB8_L_SCALE))
    ns.data_ab = L.Power(ns.data_ab8, power_param=dict(shift=-lab313_colour.LAB8_AB_OFFSET))
    lab313.subsampled_ab(L, ns, ns.data_ab)
    gauss, gauss_total_inverse, pixel_weights = lab313.stock_targets(L, P, ns)
    prediction = scores(L, P, ns, ns.data_l, squeeze.learning(1))
    lab313.stock_loss(L, P, ns, prediction, gauss, gauss_total_inverse, pixel_weights, VARIANT.crop // 4)
    return f'name: "squeeze_lab"\n{val_layer}\n{ns.to_proto()}'


def deploy():
    """Input data_l (L 0..100, 1×1×224×224) → conv8_313 (1×313×56×56 scores)."""
    caffe, L, P = caffe_modules()
    ns = caffe.NetSpec()
    ns.data_l = L.Input(shape=dict(dim=[1, 1, 224, 224]))
    scores(L, P, ns, ns.data_l)
    return f'name: "squeeze_lab_deploy"\n{ns.to_proto()}'


def solver():
    return squeeze.head_solver("lab", SCHEDULE, weights=[net_path(CONSTANTS)])


def constants():
    """CONSTANTS's bytes: the stock Lab/313 loss's frozen blobs from PRIOR."""
    import numpy as np
    return lab313.stock_constants(lab313_colour.load_centres(), np.load(lab313_colour.repo_path(PRIOR)))
