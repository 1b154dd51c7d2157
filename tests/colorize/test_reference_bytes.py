"""The shipped default's no-hint output, byte for byte, against bytes saved when it shipped: two
demo photos through the command line's path (OpenCV's dnn, the card's settings, PNG). A change
anywhere in the path that moves a pixel fails here, not only one that makes the surfaces
disagree with each other.

When the default model itself changes, save its bytes again (and say so in the commit):

    python -m tests.colorize.test_reference_bytes
"""
import hashlib
import json
import pathlib
import sys

import cv2

from colornet.colorize.models import Model
from colornet.colorize.pipeline import Colorizer, encode

REPO_ROOT = pathlib.Path(__file__).resolve().parents[2]
REFERENCE = REPO_ROOT / "tests/colorize/reference"
PHOTOS = ["data/samples/moose.jpg", "data/samples/kite.jpg"]


def current_outputs():
    model = Model.resolve("default")
    colorizer = Colorizer(model, "opencv")
    outputs = {}
    for photo in PHOTOS:
        grey = cv2.imread(str(REPO_ROOT / photo), cv2.IMREAD_GRAYSCALE)
        outputs[pathlib.Path(photo).stem + ".png"] = encode(colorizer.colorize([grey])[0], "png")
    return hashlib.sha256(pathlib.Path(model.weights).read_bytes()).hexdigest(), outputs


def test_the_default_gives_the_saved_bytes():
    weights, outputs = current_outputs()
    saved = json.loads((REFERENCE / "reference.json").read_text())
    assert saved["weights_sha256"] == weights, (
        "models/default changed since its reference bytes were saved: check its outputs by eye, then run "
        "python -m tests.colorize.test_reference_bytes")
    for name, payload in outputs.items():
        assert payload == (REFERENCE / name).read_bytes(), f"{name}: the default's output moved"


def save():
    weights, outputs = current_outputs()
    REFERENCE.mkdir(parents=True, exist_ok=True)
    for name, payload in outputs.items():
        (REFERENCE / name).write_bytes(payload)
    (REFERENCE / "reference.json").write_text(json.dumps(
        {"weights_sha256": weights, "photos": PHOTOS, "backend": "opencv", "settings": "the model card's"},
        indent=1) + "\n")
    sys.stdout.write(f"saved {len(outputs)} outputs of the default ({weights[:12]}) in {REFERENCE}\n")


if __name__ == "__main__":
    save()
