"""The YUV-64 "color" net: train_val (plain, HDF5, L2 regression, the rebalanced second stages),
deploy and solvers, full size (the original's 224 input, batch 4, for a GPU) and lite (¼ width,
128 crops, for a 2-core CPU)."""
from colornet.colour import yuv64
from colornet.nets.common import (MEAN_LOSS_WEIGHT_DECAY, ColorVariant, base_solver, caffe_modules, centred_y,
                               lmdb_data, net_path, python_layer, schedule, zhang_trunk)

YUV64_CLASSES = 64
YUV64_GREY_CLASS = 36
FULL = ColorVariant("", 1.0, 224, 4, 4)
LITE = ColorVariant("_lite", 0.25, 128, 16, 8)


def color_head(L, ns, bottom):
    """conv9_1: Deconvolution to the 64 YUV classes at half the input side."""
    ns.conv9_1 = L.Deconvolution(bottom, convolution_param=dict(
        num_output=YUV64_CLASSES, kernel_size=4, stride=2, pad=1,
        weight_filler=dict(type="msra"), bias_filler=dict(type="constant", value=0)))
    return ns.conv9_1


# Class rebalancing of the YUV-64 loss (Zhang et al.'s prior boost over the 48 classes the train
# photos reach, data/yuv64_prior_probs.npy), per net; None keeps the plain loss. Measured on the
# lite nets (docs/training.md): with the plain loss the FCN's argmax used 7 classes, the two most
# frequent (a third of the non-grey pixels) winning most pixels. λ = 0.5 gave 18 classes but
# accuracy below always predicting the most frequent class; λ = 0.8 gave 13 classes and 22 %
# against 20 %. The color net stayed at 6–8 classes with either λ and lost accuracy and
# rebalanced AuC, so it keeps the plain loss (the FCN's λ is in fcn.py).
COLOR_BOOST_LAMBDA = None


def yuv64_loss(caffe, L, P, ns, prediction, label, boost_lambda, count_grey=False, prior=None):
    """Softmax loss over the classes, the grey class skipped (the original's choice) or, with
    ``count_grey``, counted like any other with its own prior (docs/training.md, "Blue shadows")."""
    ignore = {} if count_grey else dict(ignore_label=YUV64_GREY_CLASS)
    loss_input = prediction
    if boost_lambda is not None:
        # Rebalancing touches gradients only (identity forward), so the loss and accuracy Caffe
        # reports stay the plain per-pixel ones.
        ns.class_boost = python_layer(L, [label], "ClassBoostLayer", {
            "prior": prior or (yuv64.PRIOR_WITH_GREY if count_grey else yuv64.DEFAULT_PRIOR), "lambda": boost_lambda,
            "ignore_label": -1 if count_grey else YUV64_GREY_CLASS})
        loss_input = ns.scores_boost = python_layer(L, [prediction, ns.class_boost], "ClassRebalanceMultLayer",
                                                    propagate_down=[True, False])
    # VALID normalisation: the loss is a mean over the counted pixels, so the learning rate does not
    # depend on batch size or resolution (the original's unnormalised sum needed lr 1e-10).
    ns.loss = L.SoftmaxWithLoss(loss_input, label, propagate_down=[True, False],
                                loss_param=dict(normalization=P.Loss.VALID, **ignore))
    ns.accuracy = L.Accuracy(prediction, label, accuracy_param=ignore, include=dict(phase=caffe.TEST))


def freeze_all_but(net, trainable):
    """lr_mult 0 for every (de)convolution of the NetParameter except those named in trainable."""
    for layer in net.layer:
        if layer.type in ("Convolution", "Deconvolution") and layer.name not in trainable:
            del layer.param[:]
            for _ in range(2):  # weights and bias
                layer.param.add(lr_mult=0, decay_mult=0)
    return net


def color_train_val(variant, boost_lambda, trainable=None, count_grey=False, train_source="data/train_lmdb"):
    caffe, L, P = caffe_modules()
    ns = caffe.NetSpec()
    val_layer = lmdb_data(caffe, L, P, ns, variant, train_source, "data/val_lmdb")
    ns.data_y, ns.label_uv = L.Slice(ns.data, slice_param=dict(axis=1, slice_point=1), ntop=2)
    # Kernel 1, stride 2: pure subsampling of the labels. Caffe rounds up (224 → 113); the Crop
    # below trims to the prediction's 112.
    ns.label_uv2 = L.Pooling(ns.label_uv, pool=P.Pooling.MAX, kernel_size=1, stride=2)
    prediction = color_head(L, ns, zhang_trunk(L, ns, centred_y(L, ns, ns.data_y), variant))
    ns.label_uv3 = L.Crop(ns.label_uv2, prediction, axis=2, offset=0)
    yuv64_loss(caffe, L, P, ns, prediction, ns.label_uv3, boost_lambda, count_grey)
    net = ns.to_proto() if trainable is None else freeze_all_but(ns.to_proto(), trainable)
    return f'name: "color{variant.suffix}"\n{val_layer}\n{net}'


def color_hdf5_train_val(variant):
    """The color net on the HDF5 dataset: tops must be named after the datasets /data and /label.

    HDF5Data applies no transform, so the crop size is the size the HDF5 set was built at.
    """
    caffe, L, P = caffe_modules()
    ns = caffe.NetSpec()
    ns.data, ns.label = L.HDF5Data(source="data/train_hdf5/list.txt", batch_size=variant.batch, shuffle=True,
                                   ntop=2, include=dict(phase=caffe.TRAIN))
    val = caffe.NetSpec()
    val.data, val.label = L.HDF5Data(source="data/val_hdf5/list.txt", batch_size=variant.val_batch,
                                     ntop=2, include=dict(phase=caffe.TEST))
    ns.label_uv2 = L.Pooling(ns.label, pool=P.Pooling.MAX, kernel_size=1, stride=2)
    prediction = color_head(L, ns, zhang_trunk(L, ns, centred_y(L, ns, ns.data), variant))
    ns.label_uv3 = L.Crop(ns.label_uv2, prediction, axis=2, offset=0)
    yuv64_loss(caffe, L, P, ns, prediction, ns.label_uv3, COLOR_BOOST_LAMBDA)
    return f'name: "color_hdf5{variant.suffix}"\n{str(val.to_proto()).strip()}\n{ns.to_proto()}'


# OpenCV's COLOR_BGR2YUV on 8-bit: Y = .299R + .587G + .114B, U = .492(B − Y) + 128,
# V = .877(R − Y) + 128. Written out per B, G, R so Eltwise SUM can apply it with no weights.
BGR_TO_Y = (0.114, 0.587, 0.299)
BGR_TO_U = tuple(0.492 * ((1.0 if i == 0 else 0.0) - w) for i, w in enumerate(BGR_TO_Y))
BGR_TO_V = tuple(0.877 * ((1.0 if i == 2 else 0.0) - w) for i, w in enumerate(BGR_TO_Y))
# (OpenCV then saturates V to the byte range; the regression target keeps the unclipped value.)
UV_SCALE = 1.0 / 128  # centred U, V regressed in about −1..1


def color_l2_train_val(variant):
    """The regression variant: conv9_1 predicts centred U, V (2 channels) under EuclideanLoss.

    The target comes from the plain BGR LMDB (make lmdb-bgr), turned into Y, U, V by Eltwise sums
    with fixed coefficients: stock layers only, nothing learned, nothing to store.
    """
    caffe, L, P = caffe_modules()
    ns = caffe.NetSpec()
    val_layer = lmdb_data(caffe, L, P, ns, variant, "data/train_bgr_lmdb", "data/val_bgr_lmdb", record_side=256)
    ns.data_b, ns.data_g, ns.data_r = L.Slice(ns.data, slice_param=dict(axis=1, slice_point=[1, 2]), ntop=3)
    bgr = [ns.data_b, ns.data_g, ns.data_r]
    ns.data_y = L.Eltwise(*bgr, operation=P.Eltwise.SUM, coeff=list(BGR_TO_Y))
    ns.target_u = L.Eltwise(*bgr, operation=P.Eltwise.SUM, coeff=[c * UV_SCALE for c in BGR_TO_U])
    ns.target_v = L.Eltwise(*bgr, operation=P.Eltwise.SUM, coeff=[c * UV_SCALE for c in BGR_TO_V])
    ns.target_uv = L.Concat(ns.target_u, ns.target_v, axis=1)
    ns.target_uv2 = L.Pooling(ns.target_uv, pool=P.Pooling.MAX, kernel_size=1, stride=2)
    top = zhang_trunk(L, ns, centred_y(L, ns, ns.data_y), variant)
    ns.conv9_1 = L.Deconvolution(top, convolution_param=dict(
        num_output=2, kernel_size=4, stride=2, pad=1,
        weight_filler=dict(type="xavier"), bias_filler=dict(type="constant", value=0)))
    ns.target_uv3 = L.Crop(ns.target_uv2, ns.conv9_1, axis=2, offset=0)
    # EuclideanLoss is a sum over pixels divided by 2N; the loss weight makes it a per-pixel mean
    # so that the learning rate does not depend on resolution.
    side = variant.crop // 2
    ns.loss = L.EuclideanLoss(ns.conv9_1, ns.target_uv3, loss_weight=1.0 / (side * side))
    return f'name: "color_l2{variant.suffix}"\n{val_layer}\n{ns.to_proto()}'


def color_deploy(variant):
    caffe, L, P = caffe_modules()
    ns = caffe.NetSpec()
    ns.data_y = L.Input(shape=dict(dim=[1, 1, 224, 224]))
    color_head(L, ns, zhang_trunk(L, ns, centred_y(L, ns, ns.data_y), variant))
    ns.prob = L.Softmax(ns.conv9_1)
    return f'name: "color{variant.suffix}_deploy"\n{ns.to_proto()}'


def color_solver(variant):
    solver = base_solver("color", variant)
    solver.weight_decay = MEAN_LOSS_WEIGHT_DECAY
    if variant is LITE:
        # Measured on this CPU (shared/spec/calibration.md): Adam 1e-3 with a VALID-normalised
        # loss falls steadily at ¼ width; ×0.3 every 1,000 iterations steadies the tail. 2,500
        # iterations is under an hour here alone: with a few hundred photos, more over-fits (the
        # calibration run's val colours got duller after 1,600), so snapshots are picked by val.
        return schedule(solver, True, 1e-3, 0.3, 1000, 2500, 6)
    # Full width at batch 4 on a GPU: Zhang's Adam betas with a 3× larger lr than his 3.16e-5,
    # since our loss is a per-pixel mean rather than a per-image sum.
    return schedule(solver, False, 1e-4, 0.316, 50000, 150000, 10)


# Second stages of the lite color net, both from the plain run's final weights, with the
# class-rebalanced loss at about the plain run's final learning rate (9e-5), 500 iterations.
# Rebalanced from scratch (λ 0.5 or 0.8) the color net stayed at 6–8 argmax classes with accuracy
# at or below the most frequent class's. Plain, it learns better features (28 % accuracy) but
# bets on the two commonest classes everywhere (5 classes), and more plain iterations keep it
# there. Rebalancing moves its bets, at a price in plain loss (docs/training.md has the runs):
# - "rebalance" trains the whole net with λ 0.2: 16 classes, 26 % accuracy, the best rebalanced
#   AuC we have (the shipped model), but a plain loss of 0.65 × the iteration-0 loss.
# - "rebalance_head" trains only the classifier conv9_1 with λ 0.6: 10–11 classes, 28 %, and a
#   plain loss of 0.596 × the iteration-0 loss; `make train-color` runs this one. Whole-net
#   λ 0.35 or 0.5 land between the two.
COLOR_REBALANCE_ITERATIONS = 500
COLOR_REBALANCE_LR = 1e-4
COLOR_REBALANCE_STAGES = {  # name: (λ, layers trained; None: all)
    "rebalance": (0.2, None),
    "rebalance_head": (0.6, ("conv9_1",)),
}


def color_rebalance_solver(variant, stage):
    solver = base_solver("color", variant)
    solver.net = net_path(f"train_val_color{variant.suffix}_{stage}.prototxt")
    solver.snapshot_prefix = f"models/snapshots/color{variant.suffix}_{stage}"
    solver.weight_decay = MEAN_LOSS_WEIGHT_DECAY
    solver.lr_policy = "fixed"
    solver.base_lr, solver.max_iter = COLOR_REBALANCE_LR, COLOR_REBALANCE_ITERATIONS
    solver.snapshot, solver.test_interval = 125, 250
    solver.test_iter.append(6)
    return str(solver)


# A long run continued from the shipped model's weights (its net is the "rebalance" stage's, λ 0.2):
# the lite net is limited by iterations (2,500 are an hour here) more than by anything else, so
# the shipped weights are where the next hours start, on whatever photos `make photos` gathers
# now. Adam restarts, at 3e-4 (a restart at 1e-3 undid the first stages' progress), ×0.33 every
# 1,000; snapshots every 250 are scored on the test split afterwards (never during training).
COLOR_CONTINUE_ITERATIONS = 3000


def color_continue_solver(variant, stage="rebalance", name="continue", iterations=COLOR_CONTINUE_ITERATIONS):
    solver = base_solver("color", variant)
    solver.net = net_path(f"train_val_color{variant.suffix}_{stage}.prototxt")
    solver.snapshot_prefix = f"models/snapshots/color{variant.suffix}_{name}"
    solver.weight_decay = MEAN_LOSS_WEIGHT_DECAY
    return schedule(solver, True, 3e-4, 0.33, 1000, iterations, 6)


# Whole photos at three scales (make lmdb-scales; docs/training.md, "Blue shadows…"): the same
# continuation from given weights for 2,000 iterations, with the grey class skipped or counted,
# then a long run on from its last weights at a third of the rate, halved every 2,000.
SCALES_TRAIN_LMDB = "data/train_scales_lmdb"
COLOR_SCALES_STAGES = {"scales": False, "scales_grey": True}  # name: the grey class counted in the loss
COLOR_SCALES_ITERATIONS = 2000


def color_long_solver(variant):
    solver = base_solver("color", variant)
    solver.net = net_path(f"train_val_color{variant.suffix}_scales.prototxt")
    solver.snapshot_prefix = f"models/snapshots/color{variant.suffix}_scales_long"
    solver.weight_decay = MEAN_LOSS_WEIGHT_DECAY
    schedule(solver, True, 1e-4, 0.5, 2000, 6000, 6)
    solver.snapshot, solver.test_interval = 500, 500
    return str(solver)

