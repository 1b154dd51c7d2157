"""Turn a training snapshot into a self-contained model folder that the colorizer loads.

Writes deploy.prototxt, weights.caffemodel and model.json. The weights are saved from the deploy
net, so they carry every blob, the constant ones included (conv8_313_rh's 2.606, class8_ab's bin
centres, the input centring): OpenCV's dnn and other loaders need nothing injected.
"""
import json
import logging
import pathlib
import re
import shutil
import time

from colornet.colorize.hint_transfer import HintTransfer, TransferError
from colornet.colorize.models import CaffeRunner, Model, ModelError
from colornet.common import atomic_output_dir, atomic_write_bytes

log = logging.getLogger("export_model")
SIZE_LIMIT = 25 * 1024 * 1024  # what we commit to git: every file at most 25 MB


def export_model(deploy, weights, output, info=None, force=False, files=None):
    """Write the model folder `output` (beside it, then renamed: an existing one stays until the
    new one is complete). `info`: extra facts for model.json; `files`: {name: bytes} written
    into the folder too. Returns the weights' size in bytes.

    Raises ModelError, common.OutputExists, OSError or ValueError.
    """
    model = Model(deploy, weights)
    runner = CaffeRunner(model)
    with atomic_output_dir(output, force=force) as staging:
        shutil.copy(deploy, staging / "deploy.prototxt")
        runner.save(staging / "weights.caffemodel")
        iteration = re.search(r"_iter_(\d+)\.caffemodel$", weights.name)
        card = {"family": model.family, "deploy_source": str(deploy), "snapshot": weights.name,
                "iterations": int(iteration.group(1)) if iteration else None,
                "exported": time.strftime("%Y-%m-%d")}
        card.update(info or {})
        (staging / "model.json").write_text(json.dumps(card, indent=2) + "\n")
        for name, payload in (files or {}).items():
            (staging / name).write_bytes(payload)
        size = (staging / "weights.caffemodel").stat().st_size
        if size > SIZE_LIMIT:
            raise ModelError(f"{weights}: exported weights are {size / 2**20:.1f} MB, over the 25 MB a "
                             "committed model may have (export a lite net)")
    log.info("wrote %s (weights %.1f MB, %s)", output, size / 2**20, model.family)
    return size


HINT_DEPLOY, HINT_WEIGHTS = "deploy_hints.prototxt", "hints.caffemodel"


def add_hint_net(folder, deploy, snapshot, hint_weight, hint_reach=0, info=None):
    """Add a hint-conditioned net (colornet/nets/squeeze_hints.py) to the model folder `folder`:
    its deploy file, the snapshot's hint layers only (the rest are the folder's own weights, which
    the snapshot must have been trained from) and the card's "hint_net" entry with `hint_weight`,
    the weight of its colours beside the hints' propagation, rising to it over `hint_reach` grid
    pixels from the hints (colorize/hints.py). The card is replaced last, whole."""
    from caffe.proto import caffe_pb2
    folder = pathlib.Path(folder)
    card_path = folder / "model.json"
    card = json.loads(card_path.read_text())
    trained = caffe_pb2.NetParameter()
    trained.ParseFromString(pathlib.Path(snapshot).read_bytes())
    kept = caffe_pb2.NetParameter(name=trained.name)
    for layer in trained.layer:
        if layer.name.startswith("hint_") and len(layer.blobs):
            kept.layer.add().CopyFrom(layer)
    if not kept.layer:
        raise ModelError(f"{snapshot}: has no hint layers (train one with `make train-squeeze-hints`)")
    atomic_write_bytes(folder / HINT_DEPLOY, pathlib.Path(deploy).read_bytes())
    atomic_write_bytes(folder / HINT_WEIGHTS, kept.SerializeToString())
    card["hint_net"] = {"deploy": HINT_DEPLOY, "weights": HINT_WEIGHTS, "deploy_source": str(deploy),
                        "snapshot": pathlib.Path(snapshot).name, "hint_weight": hint_weight, "hint_reach": hint_reach,
                        **(info or {})}
    atomic_write_bytes(card_path, (json.dumps(card, indent=2) + "\n").encode())
    log.info("added the hint net of %s to %s (%d hint layers, weight %g)", snapshot, folder, len(kept.layer), hint_weight)


def set_hint_transfer(folder, base, temperature, net_guide, hint_weight, hint_reach=0, info=None):
    """Name in the model folder's card how its hinted photos are made (colorize/hint_transfer.py):
    the hints' corrections to `base`'s colours (the automatic net's or the hint net's) decoded at
    `temperature`, the net's colours in the affinities with weight `net_guide`, faded with the
    prior weight `hint_weight` over `hint_reach` grid pixels per hint. Checked before the card
    is replaced (whole)."""
    folder = pathlib.Path(folder)
    card_path = folder / "model.json"
    card = json.loads(card_path.read_text())
    if base == "hint_net" and "hint_net" not in card:
        raise ModelError(f"{card_path}: names no hint_net to correct (add one with --hint-net first)")
    card["hint_transfer"] = {"base": base, "temperature": temperature, "net_guide": net_guide,
                             "hint_weight": hint_weight, "hint_reach": hint_reach, **(info or {})}
    try:
        HintTransfer.from_card(card["hint_transfer"], card_path)
    except TransferError as error:
        raise ModelError(str(error)) from None
    atomic_write_bytes(card_path, (json.dumps(card, indent=2) + "\n").encode())
    log.info("%s: hinted photos by the hints' corrections to the %s colours (T %g, net guide %g, weight %g, reach %g)",
             folder, base, temperature, net_guide, hint_weight, hint_reach)
