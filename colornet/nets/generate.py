"""Generate every colornet net and solver into prototxt/ with caffe.NetSpec.

Five families, one module each in this package (common.py holds the shared Zhang trunk, Data
layers and solver skeleton):
- color.py: the YUV-64 color net (plain, HDF5, L2 regression, rebalanced stages), full and lite;
- fcn.py: FCN-8s on the YUV-64 classes, full and lite;
- squeeze.py: the ImageNet-trained SqueezeNet trunk (squeezenet.py) under a YUV-64 colour head
  (squeeze_lab.py: the same under Lab/313 bins; squeeze_hints.py: the hint-conditioned variant);
- lab313.py: Zhang et al.'s Lab/313 net with Python layers (the reference) and with stock layers
  only (lab313_stock, for GPUs and `caffe train -gpu all`), full and lite, plus the stock net's
  frozen constants (lab313_stock_constants.caffemodel, from data/pts_in_hull.npy and
  data/prior_probs.npy).
Every generated text file starts with a "generated — do not edit" header; tests regenerate into
a temporary folder and compare byte for byte.
"""
import logging

import numpy as np

from colornet.colour import lab313 as lab313_numpy
from colornet.nets import color, fcn, lab313, squeeze, squeeze_hints, squeeze_lab, squeezenet
from colornet.nets.common import HEADER, prototxt_name

log = logging.getLogger("make_prototxt")


def generate():
    """{file name: text} for every generated prototxt."""
    files = {}
    for variant in (color.FULL, color.LITE):
        files[f"train_val_color{variant.suffix}.prototxt"] = color.color_train_val(variant, color.COLOR_BOOST_LAMBDA)
        files[f"deploy_color{variant.suffix}.prototxt"] = color.color_deploy(variant)
        files[f"solver_color{variant.suffix}.prototxt"] = color.color_solver(variant)
    for stage, (boost_lambda, trainable) in color.COLOR_REBALANCE_STAGES.items():
        files[f"train_val_color_lite_{stage}.prototxt"] = color.color_train_val(color.LITE, boost_lambda, trainable)
        files[f"solver_color_lite_{stage}.prototxt"] = color.color_rebalance_solver(color.LITE, stage)
    files["solver_color_lite_continue.prototxt"] = color.color_continue_solver(color.LITE)
    for stage, count_grey in color.COLOR_SCALES_STAGES.items():
        files[f"train_val_color_lite_{stage}.prototxt"] = color.color_train_val(
            color.LITE, 0.2, count_grey=count_grey, train_source=color.SCALES_TRAIN_LMDB)
        files[f"solver_color_lite_{stage}.prototxt"] = color.color_continue_solver(
            color.LITE, stage, stage, color.COLOR_SCALES_ITERATIONS)
    files["solver_color_lite_scales_long.prototxt"] = color.color_long_solver(color.LITE)
    for variant in (fcn.FCN_FULL, fcn.FCN_LITE):
        files[f"train_val_fcn{variant.suffix}.prototxt"] = fcn.fcn_train_val(variant)
        files[f"deploy_fcn{variant.suffix}.prototxt"] = fcn.fcn_deploy(variant)
        files[f"solver_fcn{variant.suffix}.prototxt"] = fcn.fcn_solver(variant)
    for variant in (lab313.LAB_FULL, lab313.LAB_LITE):
        files[f"train_val_lab313{variant.suffix}.prototxt"] = lab313.lab313_train_val(variant)
        files[f"deploy_lab313{variant.suffix}.prototxt"] = lab313.lab313_deploy(variant)
        files[f"solver_lab313{variant.suffix}.prototxt"] = lab313.lab313_solver(variant)
        files[f"train_val_lab313_stock{variant.suffix}.prototxt"] = lab313.lab313_stock_train_val(variant)
        files[f"solver_lab313_stock{variant.suffix}.prototxt"] = lab313.lab313_solver(variant, stock=True)
    for stage in squeeze.STAGES:
        files[f"train_val_squeeze_{stage}.prototxt"] = squeeze.squeeze_train_val(stage)
        files[f"solver_squeeze_{stage}.prototxt"] = squeeze.squeeze_solver(stage)
    for stage in squeeze.STOCK_STAGES:
        files[f"train_val_squeeze_{stage}_stock.prototxt"] = squeeze.squeeze_train_val(stage, stock=True)
        files[f"solver_squeeze_{stage}_stock.prototxt"] = squeeze.squeeze_solver(stage, stock=True)
    files["deploy_squeeze.prototxt"] = squeeze.squeeze_deploy()
    files["solver_squeeze_head_long.prototxt"] = squeeze.head_long_solver()
    files["deploy_squeeze_control.prototxt"] = squeeze.squeeze_deploy(stage="control")
    files["train_val_squeeze_hints.prototxt"] = squeeze_hints.train_val()
    files["solver_squeeze_hints.prototxt"] = squeeze_hints.solver()
    files["deploy_squeeze_hints.prototxt"] = squeeze_hints.deploy()
    files["train_val_squeeze_lab.prototxt"] = squeeze_lab.train_val()
    files["solver_squeeze_lab.prototxt"] = squeeze_lab.solver()
    files["deploy_squeeze_lab.prototxt"] = squeeze_lab.deploy()
    files["deploy_squeezenet.prototxt"] = squeezenet.classifier_deploy()
    files["train_val_color_hdf5.prototxt"] = color.color_hdf5_train_val(color.FULL)
    files["train_val_color_l2.prototxt"] = color.color_l2_train_val(color.FULL)
    return {prototxt_name(name): HEADER + text.rstrip() + "\n" for name, text in files.items()}


def generate_constants():
    """{file name: bytes}: the stock Lab/313 net's frozen blobs, from the committed bin centres
    and prior (regenerate after `make prior`), and the stock squeeze nets' class weights."""
    centres = lab313_numpy.load_centres()
    prior = np.load(lab313_numpy.repo_path(lab313_numpy.DEFAULT_PRIOR))
    return {lab313.STOCK_CONSTANTS: lab313.stock_constants(centres, prior), squeeze.INFOGAIN: squeeze.infogain_matrix(),
            squeeze_lab.CONSTANTS: squeeze_lab.constants()}


def write_generated(output):
    """Write every generated prototxt and the constants file into the folder `output`."""
    output.mkdir(parents=True, exist_ok=True)
    for name, text in generate().items():
        (output / name).parent.mkdir(parents=True, exist_ok=True)
        (output / name).write_text(text)
        log.info("wrote %s", output / name)
    for name, payload in generate_constants().items():
        (output / name).write_bytes(payload)
        log.info("wrote %s", output / name)
