"""Pixel accuracy of a YUV-64 net on a YUV-64 LMDB, beside the most-frequent-class baseline.

    python tools/val_accuracy.py data/val_lmdb --deploy prototxt/deploy_color_lite.prototxt \\
        --weights models/snapshots/color_lite_iter_1500.caffemodel

For every record the net sees Y (224×224) and predicts one of the 64 classes per output pixel
(argmax); the label is subsampled to the output's size the way the training net does (every
2nd pixel for the color net, none for the FCN). Pixels of the grey class 36 are left out, as the
loss and Caffe's Accuracy layer leave them out. Reports accuracy, the accuracy of always predicting
the class most frequent among the scored pixels, and how many distinct classes were predicted
(a collapsed net predicts one or two), as JSON on stdout.
"""
import argparse
import json
import logging
import pathlib
import sys

if __package__ in (None, ""):  # run as `python tools/val_accuracy.py`: make the repo importable
    sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1]))

import numpy as np

from tools.common import setup_logging
from tools.inspect_lmdb import read_records

log = logging.getLogger("val_accuracy")
GREY_CLASS = 36


def score(net, records, batch=8):
    """(predicted classes, labels) over all non-grey scored pixels of the records."""
    predictions, labels = [], []
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
    return np.concatenate(predictions), np.concatenate(labels)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("lmdb", type=pathlib.Path, help="YUV-64 LMDB (e.g. data/val_lmdb)")
    parser.add_argument("--deploy", type=pathlib.Path, required=True, help="deploy_color*.prototxt or deploy_fcn*.prototxt")
    parser.add_argument("--weights", type=pathlib.Path, required=True, help="trained .caffemodel")
    parser.add_argument("-o", "--output", type=pathlib.Path, help="also write the JSON here")
    args = parser.parse_args(argv)
    setup_logging()
    for path in (args.lmdb, args.deploy, args.weights):
        if not path.exists():
            log.error("%s: no such file or folder", path)
            return 2
    from tools.colorize import Model, ModelError, CaffeRunner
    try:
        runner = CaffeRunner(Model(args.deploy, args.weights))
    except ModelError as error:
        log.error("%s", error)
        return 2
    predicted, truth = score(runner.net, read_records(args.lmdb))
    counts = np.bincount(truth, minlength=64)
    result = {
        "lmdb": str(args.lmdb), "deploy": str(args.deploy), "weights": str(args.weights),
        "pixels": int(truth.size), "accuracy": float((predicted == truth).mean()),
        "most_frequent_class": int(counts.argmax()), "most_frequent_accuracy": float(counts.max() / truth.size),
        "distinct_predicted_classes": int(np.unique(predicted).size),
    }
    text = json.dumps(result, indent=2)
    if args.output:
        args.output.parent.mkdir(parents=True, exist_ok=True)
        args.output.write_text(text + "\n")
    sys.stdout.write(text + "\n")  # the result itself, for pipes (logs go to stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
