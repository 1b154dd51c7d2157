"""Turn a training snapshot into a self-contained model folder that the colorizer loads.

Writes deploy.prototxt, weights.caffemodel and model.json. The weights are saved from the deploy
net, so they carry every blob, the constant ones included (conv8_313_rh's 2.606, class8_ab's bin
centres, the input centring): OpenCV's dnn and other loaders need nothing injected.
"""
import json
import logging
import re
import shutil
import time

from colornet.colorize.models import CaffeRunner, Model, ModelError
from colornet.common import atomic_output_dir

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
