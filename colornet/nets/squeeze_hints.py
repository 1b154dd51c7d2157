"""The hint-conditioned squeeze net: the shipped squeeze net's trunk and head, plus the user's
colour hints as three more input channels (U, V, mask: colornet/colour/hint_maps.py) entering
in two places, each through a convolution initialised to zero so that, before training, the net
is exactly the automatic one:

- globally, on fire9's grid (stride 16): the hints averaged over each cell beside fire9's
  reduction, then two 3×3 convolutions dilated 2 and 4 (13 cells across: most of a 224 photo),
  added to fire9's reduction — how one click can reach the rest of the object;
- locally, on fire3's grid (stride 4): the hints averaged over each cell, one 3×3 convolution
  added to head1 — where exactly the colour changes.

Training (squeeze.squeeze_train_val("head", hint_seed=…): the head stage's net) simulates the hints from each crop's own colours (layers.caffe_layers.HintSimulationLayer,
ideepcolor's draws) and starts from the automatic model's weights: `caffe train --weights
models/default/weights.caffemodel`; the trunk stays frozen, the head and the hint branches learn.
"""
from colornet.nets import squeeze
from colornet.nets.common import MEAN_LOSS_WEIGHT_DECAY, base_solver, net_path

HINT_CHANNELS = 3
GLOBAL_STRIDE = 16   # fire9's grid
LOCAL_STRIDE = 4     # fire3's grid
GLOBAL_WIDTH = 64
# Averaged over a cell, a hint patch of a few pixels is a small fraction of it (a 5×5 patch of
# chroma ±0.3 over fire9's 16×16 cell: about 0.03), too small for zero-initialised convolutions
# and Adam to grow from in a CPU run (a first run of 1,000 iterations left the colours unmoved);
# these fixed scales bring a typical patch's cell to about unit size.
GLOBAL_HINT_SCALE = 16.0
LOCAL_HINT_SCALE = 4.0
# (base lr, gamma, stepsize, iterations, snapshot)
SCHEDULE = (3e-4, 0.3, 2000, 3000, 500)


def _zero(param):
    return dict(weight_filler=dict(type="constant", value=0), bias_filler=dict(type="constant", value=0),
                **({"param": param} if param else {}))


def global_branch(L, P, ns, hints, fire9_reduced, filler):
    """fire9's reduction + (zero-initialised) what the hints around each cell say."""
    ns.hints_global_pool = L.Pooling(hints, pool=P.Pooling.AVE, kernel_size=GLOBAL_STRIDE, stride=GLOBAL_STRIDE)
    ns.hints_global_scaled = L.Power(ns.hints_global_pool, power_param=dict(scale=GLOBAL_HINT_SCALE))
    ns.hints_global_crop = L.Crop(ns.hints_global_scaled, fire9_reduced, axis=2, offset=0)
    ns.hints_global_in = L.Concat(fire9_reduced, ns.hints_global_crop)
    ns.hints_global1 = L.Convolution(ns.hints_global_in, num_output=GLOBAL_WIDTH, kernel_size=3, pad=2, dilation=2,
                                     **filler)
    ns.hints_global1_relu = L.ReLU(ns.hints_global1, in_place=True)
    ns.hints_global2 = L.Convolution(ns.hints_global1, num_output=squeeze.REDUCED, kernel_size=3, pad=4, dilation=4,
                                     **_zero(filler.get("param")))
    ns.fire9_hinted = L.Eltwise(fire9_reduced, ns.hints_global2)
    return ns.fire9_hinted


def local_branch(L, P, ns, hints, head1, fire3, filler):
    """head1 + (zero-initialised) the hints on fire3's grid, before head1's ReLU."""
    ns.hints_local_pool = L.Pooling(hints, pool=P.Pooling.AVE, kernel_size=LOCAL_STRIDE, stride=LOCAL_STRIDE)
    ns.hints_local_scaled = L.Power(ns.hints_local_pool, power_param=dict(scale=LOCAL_HINT_SCALE))
    ns.hints_local_crop = L.Crop(ns.hints_local_scaled, fire3, axis=2, offset=0)
    ns.hints_local = L.Convolution(ns.hints_local_crop, num_output=squeeze.HEAD, kernel_size=3, pad=1,
                                   **_zero(filler.get("param")))
    ns.head1_hinted = L.Eltwise(head1, ns.hints_local)
    return ns.head1_hinted


def train_val(seed=0):
    # The head stage's net (trunk frozen, head learning) with the hints simulated from its labels.
    return squeeze.squeeze_train_val("head", hint_seed=seed)


def deploy():
    return squeeze.squeeze_deploy(hint_channels=HINT_CHANNELS)


def solver():
    solver = base_solver("squeeze_hints", squeeze.SQUEEZE)
    solver.net = net_path("train_val_squeeze_hints.prototxt")
    solver.snapshot_prefix = "models/snapshots/squeeze_hints"
    solver.weight_decay = MEAN_LOSS_WEIGHT_DECAY
    solver.base_lr, solver.gamma, solver.stepsize, solver.max_iter, snapshot = SCHEDULE
    solver.snapshot, solver.test_interval = snapshot, snapshot
    solver.test_iter.append(12)
    return str(solver)
