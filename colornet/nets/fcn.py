"""FCN-8s (Long et al.) on the YUV-64 classes: train_val, deploy and solvers, full size and lite."""
from colornet.nets.color import YUV64_CLASSES, yuv64_loss
from colornet.nets.common import (MEAN_LOSS_WEIGHT_DECAY, ColorVariant, base_solver, caffe_modules, centred_y,
                               channels, lmdb_data, schedule)

FCN_FULL = ColorVariant("", 1.0, 224, 4, 4)
FCN_LITE = ColorVariant("_lite", 0.25, 128, 4, 8)
# Rebalanced YUV-64 loss: λ 0.8 gave 13 argmax classes and beat the most frequent class
# (color.py has the runs behind it).
FCN_BOOST_LAMBDA = 0.8

# The FCN has no BatchNorm, so the input's scale carries through 16 layers: (Y − 127)/64 keeps
# the initial scores near unit size (raw ±128 made the iteration-0 loss ~85 instead of ~ln 64).
FCN_Y_SCALE = 1.0 / 64


def fcn_trunk(L, P, ns, bottom, variant):
    """FCN-8s (VGG16, pad 100, fc6/fc7 as convolutions, skips from pool4 and pool3) to 64 scores.

    The Crop offsets 5, 9 and 31 follow from pad 100 and the VGG geometry, whatever the input
    side. Unlike the original, every layer has a filler: msra before ReLUs, xavier for the linear
    score layers, and per-class (grouped) bilinear kernels for the learnable upsampling, so no
    path starts — or, with lr_mult 0, stays — at zero.
    """
    top = bottom
    pools = {}
    for block, convs, nout in [(1, 2, 64), (2, 2, 128), (3, 3, 256), (4, 3, 512), (5, 3, 512)]:
        for index in range(1, convs + 1):
            conv = L.Convolution(top, num_output=channels(nout, variant), kernel_size=3,
                                 pad=100 if (block, index) == (1, 1) else 1,
                                 weight_filler=dict(type="msra"), bias_filler=dict(type="constant", value=0))
            setattr(ns, f"conv{block}_{index}", conv)
            setattr(ns, f"relu{block}_{index}", L.ReLU(conv, in_place=True))
            top = conv
        top = L.Pooling(top, pool=P.Pooling.MAX, kernel_size=2, stride=2)
        setattr(ns, f"pool{block}", top)
        pools[block] = top
    for name, kernel in (("fc6", 7), ("fc7", 1)):
        conv = L.Convolution(top, num_output=channels(4096, variant), kernel_size=kernel,
                             weight_filler=dict(type="msra"), bias_filler=dict(type="constant", value=0))
        setattr(ns, name, conv)
        setattr(ns, f"relu{name[2:]}", L.ReLU(conv, in_place=True))
        setattr(ns, f"drop{name[2:]}", L.Dropout(conv, dropout_ratio=0.5, in_place=True))
        top = conv

    def score(bottom_blob, name):
        layer = L.Convolution(bottom_blob, num_output=YUV64_CLASSES, kernel_size=1,
                              weight_filler=dict(type="xavier"), bias_filler=dict(type="constant", value=0))
        setattr(ns, name, layer)
        return layer

    def upsample(bottom_blob, name, factor):
        layer = L.Deconvolution(bottom_blob, convolution_param=dict(
            num_output=YUV64_CLASSES, group=YUV64_CLASSES, kernel_size=2 * factor, stride=factor,
            bias_term=False, weight_filler=dict(type="bilinear")))
        setattr(ns, name, layer)
        return layer

    ns.upscore2 = upsample(score(top, "score_fr"), "upscore2", 2)
    ns.score_pool4c = L.Crop(score(pools[4], "score_pool4"), ns.upscore2, axis=2, offset=5)
    ns.fuse_pool4 = L.Eltwise(ns.upscore2, ns.score_pool4c, operation=P.Eltwise.SUM)
    ns.upscore_pool4 = upsample(ns.fuse_pool4, "upscore_pool4", 2)
    ns.score_pool3c = L.Crop(score(pools[3], "score_pool3"), ns.upscore_pool4, axis=2, offset=9)
    ns.fuse_pool3 = L.Eltwise(ns.upscore_pool4, ns.score_pool3c, operation=P.Eltwise.SUM)
    ns.upscore8 = upsample(ns.fuse_pool3, "upscore8", 8)
    ns.score = L.Crop(ns.upscore8, bottom, axis=2, offset=31)
    return ns.score


def fcn_train_val(variant):
    caffe, L, P = caffe_modules()
    ns = caffe.NetSpec()
    val_layer = lmdb_data(caffe, L, P, ns, variant, "data/train_lmdb", "data/val_lmdb")
    ns.data_y, ns.label_uv = L.Slice(ns.data, slice_param=dict(axis=1, slice_point=1), ntop=2)
    # The loss is on the full-resolution label: the score is cropped back to the input side.
    scores = fcn_trunk(L, P, ns, centred_y(L, ns, ns.data_y, FCN_Y_SCALE), variant)
    yuv64_loss(caffe, L, P, ns, scores, ns.label_uv, FCN_BOOST_LAMBDA)
    return f'name: "fcn{variant.suffix}"\n{val_layer}\n{ns.to_proto()}'


def fcn_deploy(variant):
    caffe, L, P = caffe_modules()
    ns = caffe.NetSpec()
    ns.data_y = L.Input(shape=dict(dim=[1, 1, 224, 224]))
    ns.prob = L.Softmax(fcn_trunk(L, P, ns, centred_y(L, ns, ns.data_y, FCN_Y_SCALE), variant))
    return f'name: "fcn{variant.suffix}_deploy"\n{ns.to_proto()}'


def fcn_solver(variant):
    solver = base_solver("fcn", variant)
    # VGG without BatchNorm trained from scratch (the original could only have fine-tuned): Adam
    # 1e-4 on the per-pixel mean loss; 1e-3 lets the unnormalised deep stack blow up.
    solver.weight_decay = MEAN_LOSS_WEIGHT_DECAY
    if variant is FCN_LITE:
        return schedule(solver, True, 1e-4, 0.3, 1000, 1500, 6)
    return schedule(solver, False, 1e-4, 0.316, 50000, 150000, 10)

