"""Pixel accuracy of a YUV-64 net on a YUV-64 LMDB, beside the most-frequent-class baseline.

For every record the net sees Y (224×224) and predicts one of the 64 classes per output pixel
(argmax); the label is subsampled to the output's size the way the training net does (every
2nd pixel for the color net, none for the FCN). Pixels of the grey class 36 are left out, as the
loss and Caffe's Accuracy layer leave them out. Reports accuracy, the accuracy of always predicting
the class most frequent among the scored pixels, how many distinct classes were predicted (a
collapsed net predicts one or two) and how many pixels each, and the mean cross-entropy of the
true class: the loss SoftmaxWithLoss computes in training. With --boost-lambda it also reports the
class-rebalanced loss a net with that λ minimises (each pixel's loss times its class's prior
boost, data/yuv64_prior_probs.npy), which Caffe's log does not show. JSON on stdout.

The command line: tools/val_accuracy.py.
"""
import itertools
import logging
import pathlib


import numpy as np

from colornet.colour import yuv64
from colornet.data.inspect import read_records

log = logging.getLogger("val_accuracy")
GREY_CLASS = 36


def score(net, records, batch=8):
    """(predicted classes, labels, −log p of the label) over all non-grey scored pixels."""
    predictions, labels, losses = [], [], []
    records = list(records)
    for start in range(0, len(records), batch):
        group = np.stack([record for _, record in records[start:start + batch]])
        y, label = group[:, :1].astype(np.float32), group[:, 1]
        net.blobs["data_y"].reshape(*y.shape)
        net.reshape()
        net.blobs["data_y"].data[...] = y
        probabilities = net.forward()["prob"]
        predicted = probabilities.argmax(axis=1)
        step = label.shape[-1] // predicted.shape[-1]
        label = label[:, ::step, ::step][:, :predicted.shape[1], :predicted.shape[2]]
        keep = label != GREY_CLASS
        predictions.append(predicted[keep])
        labels.append(label[keep])
        truth = np.take_along_axis(probabilities, label[:, None].astype(np.intp), axis=1)[:, 0]
        # Caffe's SoftmaxWithLoss floors the probability at FLT_MIN the same way.
        losses.append(-np.log(np.maximum(truth[keep].astype(np.float64), np.finfo(np.float32).tiny)))
    return np.concatenate(predictions), np.concatenate(labels), np.concatenate(losses)


def val_accuracy(lmdb, deploy, weights, limit=None, boost_lambda=None, prior=yuv64.DEFAULT_PRIOR):
    """Per-pixel class accuracy and loss of a YUV-64 deploy net on the records of an LMDB (the
    first `limit`); with boost_lambda also the loss rebalanced as ClassBoostLayer weights it.
    Returns a dict. Raises FileNotFoundError, colorize.models.ModelError or ValueError."""
    lmdb, deploy, weights, prior = map(pathlib.Path, (lmdb, deploy, weights, prior))
    paths = (lmdb, deploy, weights) + ((prior,) if boost_lambda is not None else ())
    for path in paths:
        if not path.exists():
            raise FileNotFoundError(f"{path}: no such file or folder")
    from colornet.colorize.models import CaffeRunner, Model
    runner = CaffeRunner(Model(deploy, weights))
    class_weights = None
    if boost_lambda is not None:
        try:
            class_weights = yuv64.class_boost_weights(np.load(prior), boost_lambda, GREY_CLASS)
        except ValueError as error:
            raise ValueError(f"{prior}: {error}") from None
    records = itertools.islice(read_records(lmdb), limit)
    predicted, truth, losses = score(runner.net, records)
    counts = np.bincount(truth, minlength=64)
    predicted_counts = np.bincount(predicted, minlength=64)
    result = {
        "lmdb": str(lmdb), "deploy": str(deploy), "weights": str(weights),
        "pixels": int(truth.size), "accuracy": float((predicted == truth).mean()),
        "most_frequent_class": int(counts.argmax()), "most_frequent_accuracy": float(counts.max() / truth.size),
        "distinct_predicted_classes": int(np.unique(predicted).size),
        "predicted_pixels_per_class": {int(k): int(predicted_counts[k]) for k in np.flatnonzero(predicted_counts)},
        "loss": float(losses.mean()),
    }
    if class_weights is not None:
        result["boost_lambda"] = boost_lambda
        result["rebalanced_loss"] = float((class_weights[truth] * losses).mean())
    return result
