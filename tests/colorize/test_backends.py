"""The two backends on the shipped models: OpenCV's dnn (the default) and pycaffe give the same
probabilities and the same photo; a net OpenCV cannot load falls back to pycaffe with one line."""
import json
import logging
import pathlib
import shutil

import cv2
import numpy as np
import pytest

from colornet.colorize.models import CaffeRunner, Model, ModelError, OpenCVRunner, available_models, runner
from colornet.colorize.pipeline import Colorizer

REPO_ROOT = pathlib.Path(__file__).resolve().parents[2]
SAMPLES = sorted((REPO_ROOT / "data/samples").glob("*.jpg"))[:3]


@pytest.mark.parametrize("name", sorted(available_models(REPO_ROOT / "models")))
def test_opencv_and_pycaffe_agree_on_each_shipped_model(name):
    model = Model.resolve(name)
    colourizers = {backend: Colorizer(model, backend) for backend in ("opencv", "caffe")}
    assert isinstance(colourizers["opencv"].runner, OpenCVRunner)
    assert isinstance(colourizers["caffe"].runner, CaffeRunner)
    greys = [cv2.imread(str(path), cv2.IMREAD_GRAYSCALE) for path in SAMPLES]
    batch = colourizers["caffe"].net_batch(greys)
    outputs = {backend: c.runner.forward(batch)[model.output_name] for backend, c in colourizers.items()}
    assert outputs["caffe"].shape == outputs["opencv"].shape and outputs["caffe"].std() > 1e-3
    assert np.abs(outputs["caffe"] - outputs["opencv"]).max() < 2e-3
    for grey in greys:
        photos = {backend: c.colorize([grey])[0].astype(int) for backend, c in colourizers.items()}
        difference = np.abs(photos["caffe"] - photos["opencv"])
        assert difference.max() <= 2 and (difference > 0).mean() < 0.01


def test_a_net_opencv_cannot_load_falls_back_to_pycaffe_with_one_line(tmp_path, caplog):
    shipped = Model.resolve("default")
    folder = tmp_path / "with_python_layer"
    folder.mkdir()
    # The shipped deploy with a Python layer at its end (an identity): OpenCV has no such layer.
    deploy = pathlib.Path(shipped.deploy).read_text() + (
        '\nlayer {\n  name: "report"\n  type: "Python"\n  bottom: "prob"\n  top: "prob"\n'
        f'  python_param {{\n    module: "layers.caffe_layers"\n    layer: "InterpreterReportLayer"\n'
        f'    param_str: {json.dumps(json.dumps({"report": str(tmp_path / "report.json")}))}\n  }}\n}}\n')
    (folder / "deploy.prototxt").write_text(deploy)
    (folder / "weights.caffemodel").write_bytes(pathlib.Path(shipped.weights).read_bytes())
    (folder / "model.json").write_text(pathlib.Path(shipped.weights).with_name("model.json").read_text())
    model = Model.resolve(str(folder))
    with caplog.at_level(logging.INFO):
        chosen = runner(model)
    assert isinstance(chosen, CaffeRunner) and (tmp_path / "report.json").is_file()
    notes = [record.getMessage() for record in caplog.records if "using pycaffe" in record.getMessage()]
    assert len(notes) == 1 and "\n" not in notes[0] and "OpenCV cannot load it" in notes[0]
    grey = cv2.imread(str(SAMPLES[0]), cv2.IMREAD_GRAYSCALE)
    assert np.array_equal(Colorizer(model).colorize([grey])[0], Colorizer(shipped, "caffe").colorize([grey])[0])


def test_a_model_named_like_a_folder_of_the_checkout_is_the_one_in_models(tmp_path, monkeypatch):
    """`--model docs` (a fine-tuning named docs) from the repository root, which has a docs/ of its
    own: the model in models/, not the folder beside the command; a folder path still works."""
    from colornet.colorize import models
    monkeypatch.setattr(models, "MODELS_DIR", tmp_path / "models")
    shutil.copytree(REPO_ROOT / "models/lite", tmp_path / "models/docs")
    (tmp_path / "cwd/docs").mkdir(parents=True)
    monkeypatch.chdir(tmp_path / "cwd")
    assert Model.resolve("docs").deploy == tmp_path / "models/docs/deploy.prototxt"
    assert Model.resolve(str(tmp_path / "models/docs")).deploy == tmp_path / "models/docs/deploy.prototxt"
    with pytest.raises(ModelError, match="no such model"):
        Model.resolve("data")
