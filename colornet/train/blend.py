"""Weight-space blends of the shipped net and a fine-tuned snapshot, scored beside the snapshots.

Why: on a user's few photos a snapshot gains rebalanced AuC on the held-out photos while its plain
AuC and PSNR fall below grey's (docs/finetune.md: the documentation photos' five lost 4-5 points of
plain AuC at every snapshot, so nothing was kept). Wortsman et al. (2022, "Robust fine-tuning of
zero-shot models", WiSE-FT) found that averaging the weights of the pre-trained and fine-tuned
nets keeps most of the fine-tuning's gain on the new photos and most of the original's
robustness; the two nets here start from the same weights and differ only from finetune.TRAIN_FROM
on, so their average is a net of the same kind.
"""
import os
import pathlib

import numpy as np

BLEND_FRACTION = 0.5  # of the way from the shipped weights to the snapshot's


def blend_params(base, tuned, fraction):
    """{layer: [arrays]}: (1 − fraction)·base + fraction·tuned, blob by blob; the two nets must have
    the same layers and shapes (ValueError naming the first that differs)."""
    if set(base) != set(tuned):
        raise ValueError(f"the nets' layers differ: {sorted(set(base) ^ set(tuned))[:3]}")
    blended = {}
    for layer, blobs in base.items():
        if [b.shape for b in blobs] != [t.shape for t in tuned[layer]]:
            raise ValueError(f"layer {layer}: shapes {[b.shape for b in blobs]} and {[t.shape for t in tuned[layer]]}")
        blended[layer] = [((1 - fraction) * np.asarray(b, np.float64) + fraction * np.asarray(t, np.float64))
                          .astype(np.float32) for b, t in zip(blobs, tuned[layer])]
    return blended


def blended_weights(deploy, base_weights, tuned_weights, fraction, output):
    """Write the blend of two caffemodels of the `deploy` net to `output` (kept if already there:
    a resumed run reuses it; written beside and renamed, so one that is there is whole)."""
    output = pathlib.Path(output)
    if output.is_file():
        return output
    import caffe
    nets = [caffe.Net(str(deploy), caffe.TEST, weights=str(weights)) for weights in (base_weights, tuned_weights)]
    base, tuned = ({name: [blob.data for blob in blobs] for name, blobs in net.params.items()} for net in nets)
    for layer, blobs in blend_params(base, tuned, fraction).items():
        for blob, values in zip(nets[0].params[layer], blobs):
            blob.data[...] = values
    output.parent.mkdir(parents=True, exist_ok=True)
    staging = output.with_name(f".{output.name}.partial")
    nets[0].save(str(staging))
    os.replace(staging, output)
    return output
