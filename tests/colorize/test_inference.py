"""The colorize pipeline and files (tools/use_trained_model.py), evaluation and export on synthetic
deploy nets with known weights and on real photos."""
import json
import pathlib
import shutil

import cv2
import numpy as np
import pytest

from colornet.colour import lab313, yuv64
from colornet.colour.yuv64 import Codec
from tests.conftest import REPO_ROOT, colorize_paths, run_tool
from colornet.colorize import models
from colornet.evaluate import scoring as evaluate
from colornet.photo_io import read_bgr

TARGET_AB = (20.0, 30.0)
TARGET_CLASS = (5 << 3) | 2  # U code 5 (+10), V code 2 (−29)


def save_model(caffe, folder, deploy_name, prepare):
    """models-style folder (deploy.prototxt + weights.caffemodel) from a generated deploy file."""
    folder.mkdir(parents=True, exist_ok=True)
    shutil.copy(REPO_ROOT / "prototxt" / deploy_name, folder / "deploy.prototxt")
    net = caffe.Net(str(folder / "deploy.prototxt"), caffe.TEST)
    prepare(net)
    net.save(str(folder / "weights.caffemodel"))
    return folder


def constant_colour_lab(net):
    """Every trunk weight 0; conv8_313's bias puts all probability on the bin of TARGET_AB."""
    for params in net.params.values():
        for blob in params:
            blob.data[...] = 0
    centres = lab313.load_centres()
    net.params["data_l_centred"][0].data[...] = 1
    net.params["data_l_centred"][1].data[...] = -50
    net.params["conv8_313_rh"][0].data[...] = 2.606
    net.params["class8_ab"][0].data[...] = centres.T[:, :, None, None]
    net.params["conv8_313"][1].data[int(np.argmin(((centres - TARGET_AB) ** 2).sum(1)))] = 40


def constant_colour_yuv(net):
    for params in net.params.values():
        for blob in params:
            blob.data[...] = 0
    net.params["data_y_centred"][0].data[...] = 1
    net.params["data_y_centred"][1].data[...] = -127
    net.params["conv9_1"][1].data[TARGET_CLASS] = 40


@pytest.fixture(scope="module")
def lab_model(caffe, tmp_path_factory):
    return save_model(caffe, tmp_path_factory.mktemp("models") / "constant_lab", "deploy_lab313_lite.prototxt",
                      constant_colour_lab)


@pytest.fixture(scope="module")
def yuv_model(caffe, tmp_path_factory):
    return save_model(caffe, tmp_path_factory.mktemp("models") / "constant_yuv", "deploy_color_lite.prototxt",
                      constant_colour_yuv)


@pytest.fixture(scope="module")
def random_lab_model(caffe, tmp_path_factory):
    """The lite Lab deploy with its msra-filled random weights (BatchNorm statistics set)."""
    def prepare(net):
        for name, params in net.params.items():
            if name.endswith("norm"):
                params[0].data[...] = 0
                params[1].data[...] = 1
                params[2].data[...] = 1
        net.params["class8_ab"][0].data[...] = lab313.load_centres().T[:, :, None, None]
    return save_model(caffe, tmp_path_factory.mktemp("models") / "random_lab", "deploy_lab313_lite.prototxt", prepare)


def grey_ramp(height, width):
    """A grey photo with texture: L between about 25 and 80, no clipping of moderate colours."""
    y, x = np.mgrid[0:height, 0:width]
    value = 70 + 110 * (x / width) + 20 * np.sin(y / 7.0)
    return np.repeat(np.clip(value, 0, 255).astype(np.uint8)[..., None], 3, axis=2)


def test_round_trip_on_known_weights_gives_the_expected_colours(lab_model, yuv_model, tmp_path):
    cv2.imwrite(str(tmp_path / "in.png"), grey_ramp(90, 120))
    assert colorize_paths([tmp_path / "in.png"], tmp_path / "lab", lab_model).failures == []
    out = cv2.imread(str(tmp_path / "lab" / "in.png"))
    ab = lab313.bgr_to_lab(out.transpose(2, 0, 1)[None])[0, 1:]
    centre = lab313.load_centres()[np.argmin(((lab313.load_centres() - TARGET_AB) ** 2).sum(1))]
    assert np.abs(ab.reshape(2, -1).mean(axis=1) - centre).max() < 1.5

    assert colorize_paths([tmp_path / "in.png"], tmp_path / "yuv", yuv_model).failures == []
    out = cv2.imread(str(tmp_path / "yuv" / "in.png"))
    uv = cv2.cvtColor(out, cv2.COLOR_BGR2YUV)[..., 1:].reshape(-1, 2).astype(float) - 128
    np.testing.assert_allclose(uv.mean(axis=0), Codec().class_uv_offsets[TARGET_CLASS], atol=1.5)
    # The original's argmax decoding gives the class's own colour too.
    assert colorize_paths([tmp_path / "in.png"], tmp_path / "arg", yuv_model, decode="argmax").failures == []


def test_output_keeps_the_full_resolution_luminance(lab_model, tmp_path):
    photo = grey_ramp(617, 1000)
    cv2.imwrite(str(tmp_path / "wide.png"), photo)
    assert colorize_paths([tmp_path / "wide.png"], tmp_path, lab_model, image_format="png").failures == []
    out = cv2.imread(str(tmp_path / "wide.png"))
    assert out.shape == photo.shape
    l_in = lab313.bgr_to_lab(photo.transpose(2, 0, 1)[None])[0, 0]
    l_out = lab313.bgr_to_lab(out.transpose(2, 0, 1)[None])[0, 0]
    assert np.abs(l_out - l_in).max() < 0.8  # 8-bit rounding of the coloured result only
    assert np.abs(out[..., 2].astype(int) - out[..., 1]).mean() > 5  # and it is in colour


def write_input_kinds(folder):
    from PIL import Image
    folder.mkdir()
    ramp = grey_ramp(60, 80)[..., 0]
    colour = np.ascontiguousarray(np.dstack([ramp, ramp[::-1], ramp[:, ::-1]]))
    cv2.imwrite(str(folder / "grey.png"), grey_ramp(60, 80)[..., 0])
    cv2.imwrite(str(folder / "colour.jpg"), colour)
    Image.fromarray(colour[..., ::-1]).convert("P", palette=Image.ADAPTIVE).save(folder / "palette.png")
    cv2.imwrite(str(folder / "rgba.png"), np.dstack([colour, np.full((60, 80), 200, np.uint8)]))
    cv2.imwrite(str(folder / "sixteen.tif"), grey_ramp(60, 80).astype(np.uint16) * 257)
    exif = Image.Exif()
    exif[0x0112] = 6  # orientation: rotate 90° clockwise to display
    Image.fromarray(colour[..., ::-1]).save(folder / "rotated.jpg", exif=exif.tobytes())
    (folder / "corrupt.png").write_bytes(b"\x89PNG\r\n\x1a\nnot really")
    return colour


def test_every_input_kind_and_bad_inputs_are_reported_while_the_rest_run(lab_model, tmp_path, caplog):
    write_input_kinds(tmp_path / "in")
    report = colorize_paths([tmp_path / "in", tmp_path / "missing.png", tmp_path / "nomatch*.jpg"], tmp_path / "out",
                            lab_model, side_by_side=True)
    assert len(report.failures) == 3 and report.written == 6
    written = sorted(p.name for p in (tmp_path / "out").iterdir())
    assert written == ["colour.png", "grey.png", "palette.png", "rgba.png", "rotated.png", "sixteen.png"]
    assert "corrupt.png: not an image OpenCV can decode" in caplog.text
    assert any("missing.png: no such file or folder" in failure for failure in report.failures)
    assert any("nomatch*.jpg: no file matches this pattern" in failure for failure in report.failures)
    # Side by side: grey | result for a grey input; grey | result | original for a colour one.
    gap = 4
    assert cv2.imread(str(tmp_path / "out" / "grey.png")).shape[1] == 2 * 80 + gap
    assert cv2.imread(str(tmp_path / "out" / "colour.png")).shape[1] == 3 * 80 + 2 * gap
    # EXIF orientation 6: the 80×60 pixels are shown as 60 wide, 80 high.
    assert cv2.imread(str(tmp_path / "out" / "rotated.png")).shape[:2] == (80, 3 * 60 + 2 * gap)
    assert not list((tmp_path / "out").glob(".*"))  # nothing half-written left behind


def test_globs_and_jpg_output(lab_model, tmp_path):
    for name in ("a.png", "b.png"):
        cv2.imwrite(str(tmp_path / name), grey_ramp(40, 50))
    assert colorize_paths([tmp_path / "*.png"], tmp_path / "out", lab_model, image_format="jpg", batch=1,
                          sheet=tmp_path / "sheet.png").failures == []
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["a.jpg", "b.jpg"]
    sheet = cv2.imread(str(tmp_path / "sheet.png"))
    assert sheet.shape[0] == 2 * 180 + 6  # two rows of one before | after pair, a gap between


def test_model_errors_are_one_line_and_name_the_file(lab_model, yuv_model, tmp_path):
    """Through the script, as a user meets them: exit status 2 and one line naming the file."""
    cv2.imwrite(str(tmp_path / "a.png"), grey_ramp(40, 50))
    cases = [(["--model", "no_such_model"], "no_such_model: no such model"),
             (["--model", lab_model, "--weights", tmp_path / "gone.caffemodel"], "gone.caffemodel: no such weights file"),
             # YUV-64 weights with the Lab deploy: wrong names/shapes are caught before Caffe could abort.
             (["--model", lab_model / "deploy.prototxt", "--weights", yuv_model / "weights.caffemodel"],
              "weights and deploy file are for different nets"),
             (["--model", lab_model / "deploy.prototxt", "--weights", tmp_path / "junk.caffemodel"],
              "junk.caffemodel: not a Caffe .caffemodel")]
    (tmp_path / "junk.caffemodel").write_bytes(b"\x00\x01junk" * 10)
    for arguments, message in cases:
        result = run_tool("use_trained_model", tmp_path / "a.png", *arguments, "-o", tmp_path, "--backend", "caffe")
        assert result.returncode == 2, result.stderr
        errors = [line for line in result.stderr.splitlines() if "ERROR" in line]
        assert len(errors) == 1 and message in errors[0], result.stderr


def test_opencv_backend_gives_the_same_image(random_lab_model, tmp_path):
    photo = read_bgr(pathlib.Path(__import__("skimage").__file__).parent / "data" / "astronaut.png")
    cv2.imwrite(str(tmp_path / "astronaut.png"), photo)
    for backend in ("caffe", "opencv"):
        assert colorize_paths([tmp_path / "astronaut.png"], tmp_path / backend, random_lab_model,
                              backend=backend).failures == []
    by_caffe = cv2.imread(str(tmp_path / "caffe" / "astronaut.png")).astype(int)
    by_opencv = cv2.imread(str(tmp_path / "opencv" / "astronaut.png")).astype(int)
    assert np.abs(by_caffe - by_opencv).max() <= 1
    assert np.abs(by_caffe[..., 2] - by_caffe[..., 0]).mean() > 1  # random weights do colour it


def released_like_weights(caffe, tmp_path):
    """Random weights with the released model's names and shapes, lacking (as it does) the blobs
    of the constant layers; our deploy adds the frozen input centring, which it lacks too."""
    from caffe.proto import caffe_pb2
    net = caffe.Net(str(REPO_ROOT / "prototxt/deploy_lab313.prototxt"), caffe.TEST)
    rng = np.random.default_rng(7)
    for name, params in net.params.items():
        if name.endswith("norm"):
            params[0].data[...] = rng.normal(0, 0.1, params[0].data.shape)
            params[1].data[...] = rng.uniform(0.5, 2, params[1].data.shape)
            params[2].data[...] = 1
    net.save(str(tmp_path / "full.caffemodel"))
    parameters = caffe_pb2.NetParameter()
    parameters.ParseFromString((tmp_path / "full.caffemodel").read_bytes())
    kept = [layer for layer in parameters.layer if layer.name not in ("data_l_centred", "conv8_313_rh", "class8_ab")]
    del parameters.layer[:]
    parameters.layer.extend(kept)
    (tmp_path / "released_like.caffemodel").write_bytes(parameters.SerializeToString())
    return net, tmp_path / "released_like.caffemodel"


@pytest.mark.slow  # the full-size Lab/313 net (128 MB of weights)
def test_released_layout_loads_by_name_and_runs_in_opencv_too(caffe, tmp_path):
    reference, weights = released_like_weights(caffe, tmp_path)
    model = models.Model(REPO_ROOT / "prototxt/deploy_lab313.prototxt", weights)
    by_caffe = models.CaffeRunner(model)
    net = by_caffe.net
    for name in net.params:  # every layer initialised: from the file, or the method's constants
        if name not in ("data_l_centred", "conv8_313_rh", "class8_ab"):
            for ours, theirs in zip(net.params[name], reference.params[name]):
                np.testing.assert_array_equal(ours.data, theirs.data)
    np.testing.assert_array_equal(net.params["class8_ab"][0].data[:, :, 0, 0], lab313.load_centres().T)
    assert np.all(net.params["conv8_313_rh"][0].data == np.float32(2.606))
    assert net.params["data_l_centred"][1].data[0] == -50
    light = np.random.default_rng(8).uniform(0, 100, (1, 1, 224, 224)).astype(np.float32)
    ab_caffe = by_caffe.forward(light, ["class8_ab"])["class8_ab"]
    ab_opencv = models.OpenCVRunner(model).forward(light, ["class8_ab"])["class8_ab"]
    assert ab_caffe.shape == ab_opencv.shape == (1, 2, 56, 56)
    assert np.abs(ab_caffe - ab_opencv).max() < 0.5


def test_evaluate_scores_photos_against_themselves_perfectly(tmp_path):
    import skimage
    data = pathlib.Path(skimage.__file__).parent / "data"
    photos = [data / name for name in ("astronaut.png", "coffee.png", "chelsea.png")]
    truths = iter([evaluate.fit(read_bgr(path), 512) for path in photos])
    summary, rows, curves = evaluate.evaluate(photos, lambda greys: [next(truths) for _ in greys], progress=False, batch=2)
    assert summary["photos"] == 3
    assert summary["model"]["auc"] == pytest.approx(100) and summary["model"]["auc_rebalanced"] == pytest.approx(100)
    assert summary["model"]["delta_cf"] == pytest.approx(0)
    assert summary["grey"]["cf"] == 0
    assert summary["grey"]["auc_rebalanced"] < summary["grey"]["auc"] < 100
    assert summary["cf_truth"] > 10
    # By hue: every group perfect for the truth; grey best on the near-grey bins; and the
    # groups, weighted by their bins, make up the overall rebalanced AuC.
    bins = summary["bins_by_hue"]
    assert set(bins) == set(evaluate.HUE_GROUPS) and sum(bins.values()) > 20
    for name in ("model", "grey"):
        by_hue = summary[name]["auc_rebalanced_by_hue"]
        assert all((by_hue[g] is None) == (bins[g] == 0) for g in bins)
        weighted = sum(by_hue[g] * bins[g] for g in bins if bins[g]) / sum(bins.values())
        assert weighted == pytest.approx(summary[name]["auc_rebalanced"])
    assert all(v == pytest.approx(100) for v in summary["model"]["auc_rebalanced_by_hue"].values() if v is not None)
    grey_by_hue = summary["grey"]["auc_rebalanced_by_hue"]
    assert grey_by_hue["neutral"] > max(v for g, v in grey_by_hue.items() if g != "neutral" and v is not None)
    assert min(v for v in grey_by_hue.values() if v is not None) < 80


def test_evaluate_cli_writes_summary_csv_and_curves(lab_model, tmp_path):
    import skimage
    photo = pathlib.Path(skimage.__file__).parent / "data" / "coffee.png"
    result = run_tool("evaluate", photo, "--model", lab_model, "-o", tmp_path, "-q")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["photos"] == 1
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert summary["photos"] == 1 and 0 < summary["model"]["auc"] < 100
    assert summary["model"]["cf"] > summary["grey"]["cf"] == 0
    assert (tmp_path / "per_photo.csv").read_text().count("\n") == 2
    assert (tmp_path / "cdf.png").read_bytes()[:4] == b"\x89PNG"
    assert (tmp_path / "by_hue.png").read_bytes()[:4] == b"\x89PNG"


def test_exported_model_carries_every_constant_blob(random_lab_model, tmp_path):
    from colornet.common import OutputExists
    from colornet.train import export as export_model
    snapshot = tmp_path / "lab313_lite_iter_7.caffemodel"
    shutil.copy(random_lab_model / "weights.caffemodel", snapshot)
    out = tmp_path / "exported"
    export_model.export_model(REPO_ROOT / "prototxt/deploy_lab313_lite.prototxt", snapshot, out)
    card = json.loads((out / "model.json").read_text())
    assert card["family"] == "lab313" and card["iterations"] == 7
    net = cv2.dnn.readNetFromCaffe(str(out / "deploy.prototxt"), str(out / "weights.caffemodel"))
    for name in ("class8_ab", "conv8_313_rh", "data_l_centred"):  # nothing left to inject
        assert len(net.getLayer(net.getLayerId(name)).blobs) > 0, name
    centres = net.getLayer(net.getLayerId("class8_ab")).blobs[0].reshape(2, 313)
    np.testing.assert_array_equal(centres, lab313.load_centres().T)
    with pytest.raises(OutputExists):  # no force: kept
        export_model.export_model(REPO_ROOT / "prototxt/deploy_lab313_lite.prototxt", snapshot, out)


def test_val_accuracy_against_a_constant_prediction(yuv_model, tiny_lmdb, tmp_path):
    from colornet.evaluate import val_accuracy
    from colornet.data.inspect import read_records
    result = run_tool("val_accuracy", tiny_lmdb, "--deploy", yuv_model / "deploy.prototxt",
                      "--weights", yuv_model / "weights.caffemodel", "-o", tmp_path / "a.json")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == json.loads((tmp_path / "a.json").read_text())
    result = json.loads((tmp_path / "a.json").read_text())
    labels = np.concatenate([record[1, ::2, ::2].ravel() for _, record in read_records(tiny_lmdb)])
    labels = labels[labels != 36]
    assert result["pixels"] == labels.size
    assert result["distinct_predicted_classes"] == 1
    assert result["accuracy"] == pytest.approx(np.mean(labels == TARGET_CLASS))
    assert result["most_frequent_accuracy"] == pytest.approx(np.bincount(labels).max() / labels.size)
    assert result["predicted_pixels_per_class"] == {str(TARGET_CLASS): labels.size}
    # Losses: the constant net's scores are 40 for the target class and 0 for the others.
    scores = np.where(np.arange(64) == TARGET_CLASS, 40.0, 0.0)
    log_p = scores - np.log(np.exp(scores - 40).sum()) - 40
    assert result["loss"] == pytest.approx(-log_p[labels].mean(), rel=1e-5)
    assert "rebalanced_loss" not in result

    result = val_accuracy.val_accuracy(tiny_lmdb, yuv_model / "deploy.prototxt", yuv_model / "weights.caffemodel",
                                       limit=1, boost_lambda=0.5)
    first = next(iter(read_records(tiny_lmdb)))[1][1, ::2, ::2].ravel()
    first = first[first != 36]
    weights = yuv64.class_boost_weights(np.load(REPO_ROOT / yuv64.DEFAULT_PRIOR), 0.5, 36)
    assert result["pixels"] == first.size and result["boost_lambda"] == 0.5
    assert result["rebalanced_loss"] == pytest.approx((weights[first] * -log_p[first]).mean(), rel=1e-5)

    bad_prior = tmp_path / "prior.npy"
    np.save(bad_prior, -np.ones(64))
    with pytest.raises(ValueError, match="prior.npy"):
        val_accuracy.val_accuracy(tiny_lmdb, yuv_model / "deploy.prototxt", yuv_model / "weights.caffemodel",
                                  boost_lambda=0.5, prior=bad_prior)


def test_no_arguments_colorizes_the_shipped_samples_with_the_default_model(tmp_path):
    """What `make demo` runs: data/samples/ with models/default, one colour image per sample."""
    # The default output folder is out/ under the working directory.
    result = run_tool("use_trained_model", "-q", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    samples = sorted(p.stem for p in (REPO_ROOT / "data" / "samples").glob("*.jpg"))
    assert len(samples) >= 5
    written = sorted((tmp_path / "out").glob("*.png"))
    assert [p.stem for p in written] == samples
    for path in written:
        image = cv2.imread(str(path)).astype(int)
        assert np.abs(image[..., 2] - image[..., 0]).mean() > 2, f"{path.name} is not in colour"
    # Exported with its constant blobs (class8_ab's bin centres for lab313, the frozen Y centring
    # for YUV-64): OpenCV's dnn needs nothing injected.
    import json
    family = json.loads((REPO_ROOT / "models/default/model.json").read_text())["family"]
    net = cv2.dnn.readNetFromCaffe(str(REPO_ROOT / "models/default/deploy.prototxt"),
                                   str(REPO_ROOT / "models/default/weights.caffemodel"))
    constant_layer, blob_count = ("class8_ab", 1) if family == "lab313" else ("data_y_centred", 2)
    assert len(net.getLayer(net.getLayerId(constant_layer)).blobs) == blob_count
    assert (REPO_ROOT / "models/default/weights.caffemodel").stat().st_size <= 25 * 2 ** 20


def test_constant_blobs_come_from_each_deploy_files_own_fillers(yuv_model):
    weights = yuv_model / "weights.caffemodel"  # any existing file: only the deploy is read here
    fcn = models.constant_blobs(models.Model(REPO_ROOT / "prototxt/deploy_fcn_lite.prototxt", weights))
    assert [float(b[0]) for b in fcn["data_y_centred"]] == [1 / 64, -127 / 64]
    color = models.constant_blobs(models.Model(REPO_ROOT / "prototxt/deploy_color.prototxt", weights))
    assert [float(b[0]) for b in color["data_y_centred"]] == [1.0, -127.0]
    lab = models.constant_blobs(models.Model(REPO_ROOT / "prototxt/deploy_lab313.prototxt", weights))
    assert lab["conv8_313_rh"][0].shape == (313,) and lab["conv8_313_rh"][0][0] == np.float32(2.606)
    assert [float(b[0]) for b in lab["data_l_centred"]] == [1.0, -50.0]
    np.testing.assert_array_equal(lab["class8_ab"][0].reshape(2, 313), lab313.load_centres().T)
    squeeze_lab = models.constant_blobs(models.Model(REPO_ROOT / "prototxt/deploy_squeeze_lab.prototxt", weights))
    np.testing.assert_allclose([float(b[0]) for b in squeeze_lab["data_l_grey"]], [2.55, -117.0], rtol=1e-6)
