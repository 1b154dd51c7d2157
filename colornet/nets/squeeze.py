"""The "squeeze" family: the ImageNet-trained SqueezeNet v1.0 trunk (colornet/nets/squeezenet.py)
on the grey photo, a convolutional colour head over its hypercolumn, and the default's YUV-64
classes (grey class ignored, loss rebalanced), trained from the decoded weights by the stock
`caffe train --weights models/squeezenet/squeezenet_grey.caffemodel`.

Geometry. conv1 gets pad 4, so fire3's cells (stride 4) sit on input pixels 0, 4, 8, …, and a
224 input gives fire3 56×56, fire5/fire7 28×28, fire9 14×14. The head brings fire5, fire7 (×2)
and fire9 (×4) to fire3's grid with fixed bilinear Deconvolutions (group = channels, lr 0) and
Crop, as FCN does; their cells land half a fire3 cell from fire3's, the same shift everywhere,
which the head's 3×3 convolutions absorb. The class scores come up ×2 the same way, so the
deploy net answers 64 class probabilities at half its input side, exactly like the lite colour
net's (112×112 for 224): the colorize pipeline takes either unchanged.

Training runs in two stages (make train-default): "head" trains only the head with the trunk
frozen; "all" trains everything from the head stage's last weights at a tenth of its rate.
"control" is the head stage on a random trunk (make train-squeeze-control).

The "_stock" nets of the head and all stages are the same nets with the rebalanced loss made of
stock layers only (InfogainLoss, H = diag(class weights), prototxt/squeeze_infogain.binaryproto): the
same gradients, and no Python in the training loop, so they train with a CUDA caffe whose embedded
Python is not the machine's (bench/gpu_check.py's squeeze recipe).
"""
import json

from colornet.nets import squeezenet
from colornet.nets.color import YUV64_CLASSES, YUV64_GREY_CLASS, yuv64_loss
from colornet.nets.common import (FROZEN, MEAN_LOSS_WEIGHT_DECAY, ColorVariant, base_solver, caffe_modules,
                                  lmdb_data, net_path)

SQUEEZE = ColorVariant("", 1.0, 128, 16, 8)
TRAIN_LMDB = "data/train_scales_lmdb"
# The class prior of the photos the family trains on (make lmdb-scales writes it).
PRIOR = "data/yuv64_prior_probs_world.npy"
BOOST_LAMBDA = 0.2
# The stock nets' class weights as InfogainLoss's H (a 1×1×64×64 BlobProto, generated from PRIOR).
INFOGAIN = "squeeze_infogain.binaryproto"
STOCK_STAGES = ("head", "all")
# trunk layer → upsampling factor to fire3's grid (pool1 is already on it)
HYPERCOLUMN = {"pool1": 1, "fire3": 1, "fire5": 2, "fire7": 2, "fire9": 4}
# The luminance itself joins the hypercolumn, averaged over each fire3 cell and scaled to about
# ±1: the first design (fire3/5/7/9 only) fitted worse than the same head on a random trunk
# (val loss 3.14 against 2.94), which passes luminance through nearly linearly; the chroma a
# class can have depends on Y, and ImageNet's features keep little of it.
LUMINANCE_SCALE = 1 / 128
# Each pretrained top's RMS on train photos (the ImageNet-trained trunk on Y at 224; pool1 71,
# fire3 243, fire5 309, fire7 104, fire9 31): a fixed Power scale brings each to about 1 before
# its reduction, as msra's initialisation and Adam's step size assume. Unscaled, the first head
# started at a loss of 87 (scores of RMS 215) and fitted worse than a random trunk's.
FEATURE_SCALES = {"pool1": 1 / 70, "fire3": 1 / 240, "fire5": 1 / 300, "fire7": 1 / 100, "fire9": 1 / 30}
REDUCED = 64          # each fire's channels after its 1×1 reduction
HEAD = 128            # channels of the head's two 3×3 convolutions
FIXED = [dict(lr_mult=0, decay_mult=0)]
# name: (trunk lr_mult, head lr_mult, base lr, gamma, stepsize, iterations, snapshot)
STAGES = {
    # The first design's head (no luminance) had its val loss flat by 2,000 iterations (3.53,
    # 3.26, 3.19, 3.15 at 500-2,000): the head stage is 2,000, the rest goes to all layers,
    # which learn from the trunk too (trained on colour photos, it sees grey ones).
    "head": (0, 1, 1e-3, 0.3, 1500, 2000, 500),
    "all": (1, 1, 1e-4, 0.5, 2000, 4000, 500),
    # The control: the head stage on a trunk left at its random (xavier) initialisation, started
    # without --weights: what the head learns from the same photos without ImageNet's features.
    "control": (0, 1, 1e-3, 0.3, 1500, 2000, 500),
}


def stage_feature_scales(stage):
    """The fixed scales the stage's head reads the trunk's tops through: none for the control,
    whose random (xavier) trunk keeps its tops near unit scale already."""
    return None if stage == "control" else FEATURE_SCALES


def learning(multiplier):
    return [dict(lr_mult=multiplier, decay_mult=1), dict(lr_mult=2 * multiplier, decay_mult=0)]


def upsample(L, ns, bottom, name, factor, channels):
    """Fixed bilinear ×factor (kernel 2·factor, stride factor, one filter per channel)."""
    layer = L.Deconvolution(bottom, param=FIXED, convolution_param=dict(
        num_output=channels, group=channels, kernel_size=2 * factor, stride=factor,
        pad=factor // 2 if name == "scores_up" else 0, bias_term=False, weight_filler=dict(type="bilinear")))
    setattr(ns, name, layer)
    return layer


def colour_head(L, P, ns, tops, head_param, feature_scales=FEATURE_SCALES, hints=None, classes=None):
    """Hypercolumn of the luminance, pool1 and fire3/5/7/9 on fire3's grid → two 3×3 convolutions → 64 class scores at
    twice fire3's resolution (half the input's side); returns the upsampled scores. ``hints``: a
    hint-map top: the head is frozen and the hints' evidence is added to its scores
    (colornet/nets/squeeze_hints.py). ``classes`` (name, count): other classes, scored on fire3's
    grid itself and returned there, under that name (the Lab/313 head: colornet/nets/squeeze_lab.py)."""
    filler = dict(weight_filler=dict(type="msra"), bias_filler=dict(type="constant", value=0))
    hint_param, head_param = (head_param, FIXED * 2) if hints is not None and head_param else (None, head_param)
    if head_param:
        filler["param"] = head_param
    ns.luminance_pool = L.Pooling(tops["centred"], pool=P.Pooling.AVE, kernel_size=4, stride=4)
    ns.luminance = L.Power(ns.luminance_pool, power_param=dict(scale=LUMINANCE_SCALE))
    columns = [L.Crop(ns.luminance, tops["fire3"], axis=2, offset=0)]
    ns.luminance_crop = columns[0]
    for fire, factor in HYPERCOLUMN.items():
        feature = tops[fire]
        if feature_scales:
            feature = L.Power(feature, power_param=dict(scale=feature_scales[fire]))
            setattr(ns, f"{fire}_scaled", feature)
        reduced = L.Convolution(feature, num_output=REDUCED, kernel_size=1, **filler)
        setattr(ns, f"{fire}_reduce", reduced)
        setattr(ns, f"{fire}_reduce_relu", L.ReLU(reduced, in_place=True))
        if factor > 1:
            grown = upsample(L, ns, reduced, f"{fire}_up", factor, REDUCED)
            reduced = L.Crop(grown, tops["fire3"], axis=2, offset=0)
            setattr(ns, f"{fire}_crop", reduced)
        columns.append(reduced)
    ns.hypercolumn = L.Concat(*columns)
    ns.head1 = L.Convolution(ns.hypercolumn, num_output=HEAD, kernel_size=3, pad=1, **filler)
    ns.head1_relu = L.ReLU(ns.head1, in_place=True)
    ns.head2 = L.Convolution(ns.head1, num_output=HEAD, kernel_size=3, pad=2, dilation=2, **filler)
    ns.head2_relu = L.ReLU(ns.head2, in_place=True)
    if classes is not None:
        name, count = classes
        setattr(ns, name, L.Convolution(ns.head2, num_output=count, kernel_size=1, **filler))
        return getattr(ns, name)
    ns.scores = scores = L.Convolution(ns.head2, num_output=YUV64_CLASSES, kernel_size=1, **filler)
    if hints is not None:
        from colornet.nets import squeeze_hints
        scores = squeeze_hints.evidence_branch(L, P, ns, hints, ns.hypercolumn, scores, hint_param)
    return upsample(L, ns, scores, "scores_up", 2, YUV64_CLASSES)


def grey_input(L, ns, luminance, name="data_y_centred", scale=1):
    # Frozen Scale: Y − 117 (or L·2.55 − 117) in training and deploy alike (conv1's bias carries
    # the B, G, R means).
    layer = L.Scale(luminance, bias_term=True, filler=dict(type="constant", value=scale),
                    bias_filler=dict(type="constant", value=-squeezenet.GREY_MEAN), param=FROZEN * 2)
    setattr(ns, name, layer)
    return layer


def squeeze_train_val(stage, hint_seed=None, stock=False):
    """The stage's training net; hint_seed (an int): the hint-conditioned variant, its hints
    simulated from the labels (colornet/nets/squeeze_hints.py); stock: the loss from stock layers."""
    caffe, L, P = caffe_modules()
    trunk_lr, head_lr = STAGES[stage][:2]
    ns = caffe.NetSpec()
    val_layer = lmdb_data(caffe, L, P, ns, SQUEEZE, TRAIN_LMDB, "data/val_lmdb")
    ns.data_y, ns.label_uv = L.Slice(ns.data, slice_param=dict(axis=1, slice_point=1), ntop=2)
    hints = None
    if hint_seed is not None:
        ns.hints = hints = L.Python(ns.label_uv, python_param=dict(
            module="layers.caffe_layers", layer="HintSimulationLayer", param_str=json.dumps({"seed": hint_seed})))
    ns.label_uv2 = L.Pooling(ns.label_uv, pool=P.Pooling.MAX, kernel_size=1, stride=2)
    tops = squeezenet.squeezenet_trunk(L, P, ns, grey_input(L, ns, ns.data_y), conv1_pad=4,
                                       frozen=learning(trunk_lr) if trunk_lr else FROZEN * 2)
    prediction = colour_head(L, P, ns, tops, learning(head_lr), stage_feature_scales(stage), hints=hints)
    ns.label_uv3 = L.Crop(ns.label_uv2, prediction, axis=2, offset=0)
    if stock:
        stock_loss(caffe, L, P, ns, prediction, ns.label_uv3)
    else:
        yuv64_loss(caffe, L, P, ns, prediction, ns.label_uv3, BOOST_LAMBDA, prior=PRIOR)
    name = "hints" if hints is not None else stage + ("_stock" if stock else "")
    return f'name: "squeeze_{name}"\n{val_layer}\n{ns.to_proto()}'


def stock_loss(caffe, L, P, ns, prediction, label):
    """yuv64_loss's rebalanced loss from stock layers: InfogainLoss (which takes the scores and
    applies the softmax itself) with H = diag(w) is −w_label·log p_label per pixel, whose gradient
    on the scores is w_label·(p − 1_label) — the Python layers' rebalanced gradient. Its value is
    the weighted loss, so the plain one is reported beside it in the TEST phase (weight 0) under
    the Python nets' name for it."""
    ignore = dict(ignore_label=YUV64_GREY_CLASS)
    ns.rebalanced_loss = L.InfogainLoss(prediction, label, propagate_down=[True, False],
                                        infogain_loss_param=dict(source=net_path(INFOGAIN), axis=1),
                                        loss_param=dict(normalization=P.Loss.VALID, **ignore))
    ns.loss = L.SoftmaxWithLoss(prediction, label, loss_weight=0, loss_param=dict(normalization=P.Loss.VALID, **ignore),
                                include=dict(phase=caffe.TEST))
    ns.accuracy = L.Accuracy(prediction, label, accuracy_param=ignore, include=dict(phase=caffe.TEST))


def infogain_matrix():
    """INFOGAIN's bytes: a BlobProto 1×1×64×64, diag of the rebalancing weights ClassBoostLayer
    gives the squeeze nets (PRIOR, BOOST_LAMBDA, the grey class 0)."""
    import numpy as np
    from caffe.proto import caffe_pb2
    from colornet.colour import yuv64
    from colornet.common import REPO_ROOT
    weights = yuv64.class_boost_weights(np.load(REPO_ROOT / PRIOR), BOOST_LAMBDA, YUV64_GREY_CLASS)
    blob = caffe_pb2.BlobProto()
    blob.shape.dim.extend([1, 1, YUV64_CLASSES, YUV64_CLASSES])
    blob.data.extend(np.diag(weights).astype(np.float32).ravel().tolist())
    return blob.SerializeToString()


def squeeze_deploy(hint_channels=0, stage="head"):
    """The deploy net; hint_channels > 0: also an Input "hints" of that many channels; stage
    "control": the random-trunk control's head, which reads its tops unscaled."""
    caffe, L, P = caffe_modules()
    ns = caffe.NetSpec()
    ns.data_y = L.Input(shape=dict(dim=[1, 1, 224, 224]))
    hints = None
    if hint_channels:
        ns.hints = hints = L.Input(shape=dict(dim=[1, hint_channels, 224, 224]))
    tops = squeezenet.squeezenet_trunk(L, P, ns, grey_input(L, ns, ns.data_y), conv1_pad=4)
    ns.prob = L.Softmax(colour_head(L, P, ns, tops, None, stage_feature_scales(stage), hints=hints))
    name = "_hints" if hints is not None else "_control" if stage == "control" else ""
    return f'name: "squeeze{name}_deploy"\n{ns.to_proto()}'


def head_long_solver(iterations=4000):
    """The head stage's own solver (net, snapshots, schedule) run on to ``iterations``: tools/train.py
    resumes it from the head stage's newest snapshot, so it asks whether the head, still fitting
    its training photos no better than val (loss 2.72 against 2.71 at 2,000), gains from more
    iterations at the step schedule's lower rates (3·10⁻⁴, then 9·10⁻⁵). It did not (docs/training.md)."""
    lr, gamma, stepsize, _, snapshot = STAGES["head"][2:]
    return head_solver("head", (lr, gamma, stepsize, iterations, snapshot))


def squeeze_solver(stage, stock=False):
    name = stage + ("_stock" if stock else "")
    return head_solver(name, STAGES[stage][2:])


def head_solver(name, schedule, weights=()):
    """The solver of train_val_squeeze_NAME (snapshots models/snapshots/squeeze_NAME); schedule:
    (base lr, gamma, stepsize, iterations, snapshot interval); weights: files it always loads."""
    solver = base_solver("squeeze", SQUEEZE)
    solver.net = net_path(f"train_val_squeeze_{name}.prototxt")
    solver.snapshot_prefix = f"models/snapshots/squeeze_{name}"
    solver.weights.extend(weights)
    solver.weight_decay = MEAN_LOSS_WEIGHT_DECAY
    solver.base_lr, solver.gamma, solver.stepsize, solver.max_iter, snapshot = schedule
    solver.snapshot, solver.test_interval = snapshot, snapshot
    solver.test_iter.append(12)
    return str(solver)
