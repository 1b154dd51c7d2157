"""Pixel accuracy of a YUV-64 net on a YUV-64 LMDB, beside the most-frequent-class baseline.

    python tools/val_accuracy.py data/val_lmdb --deploy prototxt/deploy_color_lite.prototxt \\
        --weights models/snapshots/color_lite_iter_1500.caffemodel

For every record the net sees Y (224×224) and predicts one of the 64 classes per output pixel
(argmax); the label is subsampled to the output's size the way the training net does (every
2nd pixel for the color net, none for the FCN). Pixels of the grey class 36 are left out, as the
loss and Caffe's Accuracy layer leave them out. Reports accuracy, the accuracy of always predicting
the class most frequent among the scored pixels, how many distinct classes were predicted (a
collapsed net predicts one or two) and how many pixels each, and the mean cross-entropy of the
true class: the loss SoftmaxWithLoss computes in training. With --boost-lambda it also reports the
class-rebalanced loss a net with that λ minimises (each pixel's loss times its class's prior
boost, data/yuv64_prior_probs.npy), which Caffe's log does not show. JSON on stdout.

    python tools/val_accuracy.py data/train_lmdb --limit 400 --boost-lambda 0.2 \
        --deploy prototxt/deploy_color_lite.prototxt --weights models/snapshots/color_lite_rebalance_iter_500.caffemodel
"""
import argparse
import itertools
import json
import logging
import pathlib
import sys

if __package__ in (None, ""):  # run as `python tools/val_accuracy.py`: make the repo importable
    sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1]))

import numpy as np

from layers import yuv64
from tools.common import setup_logging
from tools.inspect_lmdb import read_records

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


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("lmdb", type=pathlib.Path, help="YUV-64 LMDB (e.g. data/val_lmdb)")
    parser.add_argument("--deploy", type=pathlib.Path, required=True, help="deploy_color*.prototxt or deploy_fcn*.prototxt")
    parser.add_argument("--weights", type=pathlib.Path, required=True, help="trained .caffemodel")
    parser.add_argument("--limit", type=int, help="score only the first N records")
    parser.add_argument("--boost-lambda", type=float,
                        help="also report the loss rebalanced with this λ (as ClassBoostLayer weights it)")
    parser.add_argument("--prior", type=pathlib.Path, default=pathlib.Path(yuv64.DEFAULT_PRIOR),
                        help=f"class prior for --boost-lambda (default {yuv64.DEFAULT_PRIOR})")
    parser.add_argument("-o", "--output", type=pathlib.Path, help="also write the JSON here")
    args = parser.parse_args(argv)
    setup_logging()
    if args.limit is not None and args.limit < 1:
        parser.error(f"--limit must be at least 1, got {args.limit}")
    paths = (args.lmdb, args.deploy, args.weights) + ((args.prior,) if args.boost_lambda is not None else ())
    for path in paths:
        if not path.exists():
            log.error("%s: no such file or folder", path)
            return 2
    from tools.colorize import Model, ModelError, CaffeRunner
    try:
        runner = CaffeRunner(Model(args.deploy, args.weights))
    except ModelError as error:
        log.error("%s", error)
        return 2
    class_weights = None
    if args.boost_lambda is not None:
        try:
            class_weights = yuv64.class_boost_weights(np.load(args.prior), args.boost_lambda, GREY_CLASS)
        except ValueError as error:
            log.error("%s: %s", args.prior, error)
            return 2
    records = itertools.islice(read_records(args.lmdb), args.limit)
    predicted, truth, losses = score(runner.net, records)
    counts = np.bincount(truth, minlength=64)
    predicted_counts = np.bincount(predicted, minlength=64)
    result = {
        "lmdb": str(args.lmdb), "deploy": str(args.deploy), "weights": str(args.weights),
        "pixels": int(truth.size), "accuracy": float((predicted == truth).mean()),
        "most_frequent_class": int(counts.argmax()), "most_frequent_accuracy": float(counts.max() / truth.size),
        "distinct_predicted_classes": int(np.unique(predicted).size),
        "predicted_pixels_per_class": {int(k): int(predicted_counts[k]) for k in np.flatnonzero(predicted_counts)},
        "loss": float(losses.mean()),
    }
    if class_weights is not None:
        result["boost_lambda"] = args.boost_lambda
        result["rebalanced_loss"] = float((class_weights[truth] * losses).mean())
    text = json.dumps(result, indent=2)
    if args.output:
        args.output.parent.mkdir(parents=True, exist_ok=True)
        args.output.write_text(text + "\n")
    sys.stdout.write(text + "\n")  # the result itself, for pipes (logs go to stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
