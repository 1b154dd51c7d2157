"""Zhang et al.'s Lab / 313-bin nets: train_val, deploy and solvers, full size and lite, in two
training forms that train the same model and share every trunk layer name with the deploy net:

- ``lab313``: the reference, with Python layers (layers/caffe_layers.py) for the Lab conversion,
  5-nearest-bin soft encoding, prior boost, grey mask and soft-target loss;
- ``lab313_stock``: stock layers only (no Python in the training loop, so it runs on the GPU end
  to end and Caffe's `-gpu all` accepts it), reading the Lab LMDB (`make lmdb-lab`). Its frozen
  target-side constants (bin centres, boost weights) are a generated .caffemodel that its solvers
  load; Caffe's fillers hold one value per blob, so they cannot be fillers.
"""
import numpy as np

from colornet.colour import lab313
from colornet.nets.common import (FROZEN, ColorVariant, base_solver, caffe_modules, lmdb_data, python_layer, schedule,
                               zhang_trunk)

LAB_FULL = ColorVariant("", 1.0, 176, 40, 10)
LAB_LITE = ColorVariant("_lite", 0.25, 176, 8, 8)
LAB_BINS = 313
LAB_TEMPERATURE_SCALE = 2.606  # 1/T for the annealed mean: the constant of Zhang et al.'s released net
LAB_SIGMA = 5.0
LAB_BOOST_SIGMA = 1.0  # the stock net's soft argmax for the prior boost (stock_targets)
LAB_BOOST_LAMBDA = 0.5
LAB_GREY_THRESHOLD = 5.0
STOCK_CONSTANTS = "lab313_stock_constants.caffemodel"  # in prototxt/, beside the solvers that load it
MASK_GAIN = 1e10


def lab_input(caffe, L, ns, data_l):
    # The net sees L − 50 (Zhang et al.), centred in the net by a frozen Scale in train and
    # deploy alike, so callers always feed plain L 0..100.
    ns.data_l_centred = L.Scale(data_l, bias_term=True, filler=dict(type="constant", value=1),
                                bias_filler=dict(type="constant", value=-50), param=FROZEN * 2)
    return ns.data_l_centred


def lab_scores(L, ns, top):
    ns.conv8_313 = L.Convolution(top, num_output=LAB_BINS, kernel_size=1, weight_filler=dict(type="xavier"),
                                 bias_filler=dict(type="constant", value=0))
    return ns.conv8_313


def subsampled_ab(L, ns, data_ab):
    # Every 4th pixel of ab, to the prediction's resolution (176 → 44): a frozen 1×1 stride-4
    # convolution with weight 1 per channel (grouped), i.e. pure subsampling.
    ns.data_ab_ss = L.Convolution(data_ab, num_output=2, kernel_size=1, stride=4, group=2, bias_term=False,
                                  weight_filler=dict(type="constant", value=1), param=FROZEN)
    return ns.data_ab_ss


def lab313_train_val(variant):
    """Zhang et al.'s training net on stock Caffe: Python layers for Lab, soft encoding and
    rebalancing weights, and a Python soft-target cross-entropy in place of the custom C++ loss."""
    caffe, L, P = caffe_modules()
    ns = caffe.NetSpec()
    val_layer = lmdb_data(caffe, L, P, ns, variant, "data/train_bgr_lmdb", "data/val_bgr_lmdb", record_side=256)
    ns.img_lab = python_layer(L, [ns.data], "BGR2LabLayer")
    ns.data_l, ns.data_ab = L.Slice(ns.img_lab, slice_param=dict(axis=1, slice_point=1), ntop=2)
    subsampled_ab(L, ns, ns.data_ab)
    ns.gt_ab_313 = python_layer(L, [ns.data_ab_ss], "NNEncLayer", {"k": 5, "sigma": LAB_SIGMA})
    ns.nongray_mask = python_layer(L, [ns.data_ab_ss], "NonGrayMaskLayer", {"threshold": LAB_GREY_THRESHOLD})
    ns.prior_boost = python_layer(L, [ns.gt_ab_313], "PriorBoostLayer", {"lambda": LAB_BOOST_LAMBDA})
    ns.prior_boost_nongray = L.Eltwise(ns.prior_boost, ns.nongray_mask, operation=P.Eltwise.PROD)
    scores = lab_scores(L, ns, zhang_trunk(L, ns, lab_input(caffe, L, ns, ns.data_l), variant))
    # Rebalancing touches gradients only: identity forward, weighted backward.
    ns.conv8_313_boost = python_layer(L, [scores, ns.prior_boost_nongray], "ClassRebalanceMultLayer",
                                      propagate_down=[True, False])
    ns.loss8_313 = python_layer(L, [ns.conv8_313_boost, ns.gt_ab_313], "SoftmaxCrossEntropyLossLayer",
                                propagate_down=[True, False], loss_weight=1)
    return f'name: "lab313{variant.suffix}"\n{val_layer}\n{ns.to_proto()}'


def lab313_deploy(variant):
    """Input data_l (plain L, 1×1×224×224) → … → class8_ab (N×2×56×56 annealed-mean ab).

    conv8_313_rh's 2.606 is a constant filler; class8_ab's 626 weights (the bin centres) cannot
    be, so our .caffemodel files carry them and colornet/colorize/pipeline.py injects them into weights that
    lack them (richzhang's release), as his own demo did.
    """
    caffe, L, P = caffe_modules()
    ns = caffe.NetSpec()
    ns.data_l = L.Input(shape=dict(dim=[1, 1, 224, 224]))
    scores = lab_scores(L, ns, zhang_trunk(L, ns, lab_input(caffe, L, ns, ns.data_l), variant))
    ns.conv8_313_rh = L.Scale(scores, bias_term=False, filler=dict(type="constant", value=LAB_TEMPERATURE_SCALE),
                              param=FROZEN)
    ns.class8_313_rh = L.Softmax(ns.conv8_313_rh)
    ns.class8_ab = L.Convolution(ns.class8_313_rh, num_output=2, kernel_size=1, bias_term=False, param=FROZEN)
    return f'name: "lab313{variant.suffix}_deploy"\n{ns.to_proto()}'


def lab313_solver(variant, stock=False):
    solver = base_solver("lab313_stock" if stock else "lab313", variant)
    if stock:
        # `caffe train --weights X` replaces this list: give X,prototxt/lab313_stock_constants.caffemodel
        # to fine-tune from weights that lack the constants (ours keep them: lr_mult 0).
        solver.weights.append(f"prototxt/{STOCK_CONSTANTS}")
    solver.weight_decay = 1e-3
    if variant is LAB_LITE:
        # Adam is insensitive to the loss's scale (a per-image sum here), so the lite net takes
        # the color net's measured 1e-3 rather than Zhang's 3.16e-5, which was chosen for a
        # k-means-initialised full net and 450k iterations. ×0.3 every 1,000; 2,500 iterations
        # is about an hour here (the Python layers cost less than the ¼-width trunk).
        return schedule(solver, True, 1e-3, 0.3, 1000, 2500, 5)
    # Zhang et al.'s solver, as published.
    return schedule(solver, False, 3.16e-5, 0.316, 215000, 500000, 10)


def stock_targets(L, P, ns):
    """data_ab_ss → (gt_ab_gauss, gauss_total_inverse, prior_boost_nongray): the Gaussian soft
    encoding over all bins, unnormalised (g_q = exp(−|ab − c_q|²/2σ²), so the target is g/Σg), the
    inverse of its sum, and the per-pixel weight (0 over grey images), from frozen stock layers
    whose constants are in STOCK_CONSTANTS (see stock_constants)."""
    # −|ab − c_q|²/2σ² = (c_q·ab − |c_q|²/2 − |ab|²/2)/σ²: one 1×1 convolution of (a, b, a², b²).
    # Kept unnormalised, the encoding never passes through a 313-way Softmax (five passes over
    # N×313×H×W on a CPU); g ≤ 1 cannot overflow, and the nearest bin was within 7.1 of every ab
    # measured, so Σg ≥ exp(−1).
    ns.ab_squared = L.Power(ns.data_ab_ss, power_param=dict(power=2))
    ns.ab_features = L.Concat(ns.data_ab_ss, ns.ab_squared, axis=1)
    ns.gt_ab_logits = L.Convolution(ns.ab_features, num_output=LAB_BINS, kernel_size=1, param=FROZEN * 2)
    ns.gt_ab_gauss = L.Exp(ns.gt_ab_logits)
    ns.gauss_total = L.Convolution(ns.gt_ab_gauss, num_output=1, kernel_size=1, bias_term=False, param=FROZEN)
    ns.gauss_total_inverse = L.Power(ns.gauss_total, power_param=dict(power=-1))
    # The prior boost is the weight of the nearest bin, w(argmax t), as in the reference; Caffe's
    # ArgMax has no GPU code, so it is a soft argmax: the same Gaussian at σ = 1 instead of 5
    # (the logits × 25), Σ_q g'_q·w_q / Σ_q g'_q. Averaging over the σ = 5 target instead was 46 %
    # off w(argmax) on average (neighbouring bins' weights differ by up to 10×); at σ = 1, 2 %
    # (bench/bench_lab313_stock.py). Σ g' stays above float32's smallest normal up to 13 from the
    # nearest bin.
    ns.gt_ab_sharp = L.Exp(ns.gt_ab_logits, exp_param=dict(scale=(LAB_SIGMA / LAB_BOOST_SIGMA) ** 2))
    ns.boost_sums = L.Convolution(ns.gt_ab_sharp, num_output=2, kernel_size=1, bias_term=False, param=FROZEN)
    ns.sharp_total, ns.boost_total = L.Slice(ns.boost_sums, slice_param=dict(axis=1, slice_point=1), ntop=2)
    ns.sharp_total_inverse = L.Power(ns.sharp_total, power_param=dict(power=-1))
    ns.prior_boost = L.Eltwise(ns.boost_total, ns.sharp_total_inverse, operation=P.Eltwise.PROD)
    # Grey images (no |a| or |b| above the threshold anywhere) weigh 0: Σ max(|ab| − 5, 0) per
    # image is 0 exactly for those and at least float32's step near 5 (6e-7) otherwise, so ×1e10
    # clipped to 0..1 is the mask. (Threshold would be shorter, but has no Backward, which
    # `caffe time` calls on every layer.)
    ns.ab_abs = L.AbsVal(ns.data_ab_ss)
    ns.ab_excess = L.Power(ns.ab_abs, power_param=dict(shift=-LAB_GREY_THRESHOLD))
    ns.ab_excess_relu = L.ReLU(ns.ab_excess, in_place=True)
    ns.excess_per_image = L.Reduction(ns.ab_excess, operation=P.Reduction.SUM, axis=1)
    ns.excess_scaled = L.Power(ns.excess_per_image, power_param=dict(scale=MASK_GAIN))
    ns.nongray_mask = L.Clip(ns.excess_scaled, clip_param=dict(min=0, max=1))
    ns.prior_boost_nongray = L.Scale(ns.prior_boost, ns.nongray_mask, axis=0)
    return ns.gt_ab_gauss, ns.gauss_total_inverse, ns.prior_boost_nongray


def stock_loss(L, P, ns, scores, gauss, gauss_total_inverse, pixel_weights, side):
    """Per pixel −Σ_q t_q·log softmax(z)_q with t = g/Σg, written as
    log Σ_q exp(z_q − m) + m − z̄, with m = max_q z_q and z̄ = Σ_q t_q·z_q (equal because Σ t = 1):
    no Softmax or Log over 313 channels, and exp(z − m) ≤ 1 cannot overflow. m is held constant
    (the value does not depend on it), so the gradient is softmax(z) − t. Summed per image and
    averaged over the batch: loss8_313_boosted (weighted per pixel, the training loss: its gradient
    w·(softmax(z) − t)/N is the reference's) and loss8_313 (unweighted, shown only: the
    reference's reported loss). side: the scores' height and width."""
    ns.target_scores = L.Eltwise(scores, gauss, operation=P.Eltwise.PROD, propagate_down=[True, False])
    ns.target_score_sum = L.Convolution(ns.target_scores, num_output=1, kernel_size=1, bias_term=False,
                                        weight_filler=dict(type="constant", value=1), param=FROZEN)
    ns.target_mean_score = L.Eltwise(ns.target_score_sum, gauss_total_inverse, operation=P.Eltwise.PROD,
                                     propagate_down=[True, False])
    # m per pixel: the 313 channels viewed as the rows of an image one pixel wide per position,
    # max-pooled in one window of 313 rows (Caffe has no reduction across channels but this).
    ns.scores_by_bin = L.Reshape(scores, reshape_param=dict(shape=dict(dim=[0, 1, LAB_BINS, -1])))
    ns.max_score_row = L.Pooling(ns.scores_by_bin, pool=P.Pooling.MAX, kernel_h=LAB_BINS, kernel_w=1, stride=1)
    ns.max_score = L.Reshape(ns.max_score_row, reshape_param=dict(shape=dict(dim=[0, 1, side, side])))
    ns.max_score_tiled = L.Tile(ns.max_score, axis=1, tiles=LAB_BINS)
    ns.scores_shifted = L.Eltwise(scores, ns.max_score_tiled, operation=P.Eltwise.SUM, coeff=[1, -1],
                                  propagate_down=[True, False])
    ns.scores_exp = L.Exp(ns.scores_shifted)
    ns.scores_exp_sum = L.Convolution(ns.scores_exp, num_output=1, kernel_size=1, bias_term=False,
                                      weight_filler=dict(type="constant", value=1), param=FROZEN)
    ns.log_exp_sum = L.Log(ns.scores_exp_sum)
    ns.pixel_cross_entropy = L.Eltwise(ns.log_exp_sum, ns.max_score, ns.target_mean_score, operation=P.Eltwise.SUM,
                                       coeff=[1, 1, -1], propagate_down=[True, False, True])
    ns.weighted_cross_entropy = L.Eltwise(ns.pixel_cross_entropy, pixel_weights, operation=P.Eltwise.PROD,
                                          propagate_down=[True, False])
    for name, per_pixel, weight in (("loss8_313_boosted", ns.weighted_cross_entropy, 1),
                                    ("loss8_313", ns.pixel_cross_entropy, 0)):
        # Per image (sum over pixels), then the mean over the batch: the same in TRAIN and TEST,
        # whatever their batch sizes.
        per_image = L.Reduction(per_pixel, operation=P.Reduction.SUM, axis=1)
        setattr(ns, f"{name}_per_image", per_image)
        setattr(ns, name, L.Reduction(per_image, operation=P.Reduction.MEAN, axis=0, loss_weight=weight))


def lab313_stock_train_val(variant):
    """The Lab/313 training net with stock layers only, from the Lab LMDB; same trunk and layer
    names as deploy_lab313, so the same deploy and export path serves it."""
    caffe, L, P = caffe_modules()
    ns = caffe.NetSpec()
    val_layer = lmdb_data(caffe, L, P, ns, variant, "data/train_lab_lmdb", "data/val_lab_lmdb", record_side=256)
    ns.data_l8, ns.data_ab8 = L.Slice(ns.data, slice_param=dict(axis=1, slice_point=1), ntop=2)
    # The Lab LMDB's 8-bit Lab (colornet/colour/lab313.py, bgr8_to_lab8) back to L 0..100 and signed a, b.
    ns.data_l = L.Power(ns.data_l8, power_param=dict(scale=1 / lab313.LAB8_L_SCALE))
    ns.data_ab = L.Power(ns.data_ab8, power_param=dict(shift=-lab313.LAB8_AB_OFFSET))
    subsampled_ab(L, ns, ns.data_ab)
    gauss, gauss_total_inverse, pixel_weights = stock_targets(L, P, ns)
    scores = lab_scores(L, ns, zhang_trunk(L, ns, lab_input(caffe, L, ns, ns.data_l), variant))
    stock_loss(L, P, ns, scores, gauss, gauss_total_inverse, pixel_weights, variant.crop // 4)
    return f'name: "lab313_stock{variant.suffix}"\n{val_layer}\n{ns.to_proto()}'


def stock_constants(centres, prior):
    """The frozen target-side blobs of lab313_stock as a serialized NetParameter (.caffemodel):
    gt_ab_logits (weights (c_a, c_b, −½, −½)/σ², bias −|c_q|²/2σ²), gauss_total (ones) and
    boost_sums (rows: ones, w_q)."""
    from caffe.proto import caffe_pb2
    centres = np.asarray(centres, dtype=np.float64)
    boost = lab313.prior_boost_weights(prior, LAB_BOOST_LAMBDA)
    squares = np.full((LAB_BINS, 2), -0.5)
    blobs = {
        "gt_ab_logits": [(np.hstack([centres, squares]) / LAB_SIGMA ** 2).reshape(LAB_BINS, 4, 1, 1),
                         -(centres ** 2).sum(axis=1) / (2 * LAB_SIGMA ** 2)],
        "gauss_total": [np.ones((1, LAB_BINS, 1, 1))],
        "boost_sums": [np.stack([np.ones(LAB_BINS), boost]).reshape(2, LAB_BINS, 1, 1)],
    }
    net = caffe_pb2.NetParameter(name="lab313_stock_constants")
    for name, arrays in blobs.items():
        layer = net.layer.add(name=name, type="Convolution")
        for array in arrays:
            blob = layer.blobs.add()
            blob.shape.dim.extend(array.shape)
            blob.data.extend(array.astype(np.float32).ravel().tolist())
    return net.SerializeToString()
