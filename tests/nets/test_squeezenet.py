"""The pretrained trunk: our decoder of Deep Compression's packed SqueezeNet, its grey-input
folding, and the decoded net classifying real ImageNet photos in pycaffe and OpenCV's dnn."""
import os
import pathlib

import cv2
import numpy as np
import pytest

from colornet.data import git_photos
from colornet.nets import squeezenet

REPO_ROOT = pathlib.Path(__file__).resolve().parents[2]


def _encode(layers):
    """The packed format written the way the paper's encoder writes it (a test oracle): non-zero
    weights as 8-bit codes into a 256-entry codebook whose entry 0 is 0.0, positions as 4-bit
    steps; a gap longer than 15 is bridged by stored zeros (code 0)."""
    header, body = [], []
    for name, shape in squeezenet.layer_shapes():
        weights, bias = layers[name]
        codebook = np.zeros(256, np.float32)
        values = np.unique(weights[weights != 0])
        codebook[1:1 + values.size] = values
        codes, steps, last = [], [], -1
        for place in np.flatnonzero(weights.ravel()):
            while place - last - 1 > 15:
                codes.append(0)
                steps.append(15)
                last += 16
            steps.append(place - last - 1)
            codes.append(int(np.searchsorted(values, weights.ravel()[place])) + 1)
            last = place
        if len(steps) % 2:
            steps.append(0)
        nibbles = np.array(steps[0::2], np.uint8) | (np.array(steps[1::2], np.uint8) << 4)
        header.append(len(codes))
        body += [codebook.tobytes(), bias.astype("<f4").tobytes(), np.array(codes, np.uint8).tobytes(),
                 nibbles.tobytes()]
    return np.array(header, "<u4").tobytes() + b"".join(body)


def _random_layers(seed=0):
    rng = np.random.default_rng(seed)
    layers = {}
    for name, shape in squeezenet.layer_shapes():
        levels = rng.normal(size=40).astype(np.float32)
        weights = np.where(rng.random(shape) < 0.3, levels[rng.integers(0, 40, shape)], 0).astype(np.float32)
        layers[name] = (weights, rng.normal(size=shape[0]).astype(np.float32))
    return layers


def test_decoder_reads_back_what_the_format_encodes():
    layers = _random_layers()
    decoded = squeezenet.decode_packed(_encode(layers))
    assert list(decoded) == [name for name, _ in squeezenet.layer_shapes()]
    for name, (weights, bias) in layers.items():
        np.testing.assert_array_equal(decoded[name][0], weights)
        np.testing.assert_array_equal(decoded[name][1], bias)


def test_decoder_refuses_truncated_or_padded_files():
    packed = _encode(_random_layers(1))
    with pytest.raises(squeezenet.PackedFormatError, match="ends inside"):
        squeezenet.decode_packed(packed[:-100])
    with pytest.raises(squeezenet.PackedFormatError, match="bytes left"):
        squeezenet.decode_packed(packed + b"\0\0")
    with pytest.raises(squeezenet.PackedFormatError, match="header"):
        squeezenet.decode_packed(packed[:10])


def test_grey_trunk_equals_conv1_on_the_grey_photo_replicated_minus_the_bgr_mean():
    layers = _random_layers(2)
    weights, bias = layers["conv1"]
    grey_weights, grey_bias = squeezenet.grey_trunk(layers)["conv1"]
    patch = np.random.default_rng(3).integers(0, 256, (7, 7)).astype(np.float64)
    bgr = np.stack([patch - m for m in squeezenet.BGR_MEAN])
    expected = np.einsum("ochw,chw->o", weights, bgr) + bias
    got = np.einsum("ochw,chw->o", grey_weights, (patch - squeezenet.GREY_MEAN)[None]) + grey_bias
    np.testing.assert_allclose(got, expected, rtol=1e-4, atol=1e-3)
    assert grey_weights.shape == (96, 1, 7, 7)


def _packed_bytes():
    from colornet.train import pretrained
    try:
        return pretrained.packed_files()[0]
    except pretrained.PretrainedError as err:
        pytest.skip(f"the packed SqueezeNet is not reachable here ({err})")


def _sample_photos(count):
    """``count`` of the 1,000 ImageNet sample photos spread over the classes, with their classes
    (from the pinned list): from `make photos`' folder (grey ones are not gathered there), else
    from PHOTO_MIRROR."""
    pins = git_photos.parse_pins(REPO_ROOT / "data/sources/public-photos.txt")
    samples = next(repo for repo in pins if repo.repo == "EliSchwartz/imagenet-sample-images")
    gathered = REPO_ROOT / "data/photos/imagenet-sample-images"
    present = [f for f in samples.files if (gathered / f.path).is_file()]
    if len(present) >= 900:
        return [((gathered / f.path).read_bytes(), f.imagenet_class) for f in present[::len(present) // count][:count]]
    mirror = os.environ.get(git_photos.MIRROR_ENV)
    git_dir = git_photos.mirror_git_dir(mirror, samples.repo) if mirror else None
    if git_dir is None:
        pytest.skip("the ImageNet sample photos are not here: run `make photos` (or set PHOTO_MIRROR)")
    chosen = samples.files[::len(samples.files) // count][:count]
    blobs = git_photos.read_blobs(git_dir, samples.commit, [f.path for f in chosen])
    return [(blobs[f.path], f.imagenet_class) for f in chosen]


@pytest.mark.slow
def test_decoded_squeezenet_classifies_imagenet_photos_in_pycaffe_and_opencv(caffe, tmp_path):
    layers = squeezenet.decode_packed(_packed_bytes())
    weights = tmp_path / "squeezenet.caffemodel"
    squeezenet.write_caffemodel(layers, weights)
    deploy = str(REPO_ROOT / "prototxt/deploy_squeezenet.prototxt")
    net = caffe.Net(deploy, str(weights), caffe.TEST)
    dnn = cv2.dnn.readNetFromCaffe(deploy, str(weights))
    photos = _sample_photos(50)
    hits = {"caffe": 0, "opencv": 0}
    for payload, label in photos:
        bgr = cv2.imdecode(np.frombuffer(payload, np.uint8), cv2.IMREAD_COLOR)
        blob = (cv2.resize(bgr, (227, 227), interpolation=cv2.INTER_AREA).astype(np.float32)
                - np.array(squeezenet.BGR_MEAN, np.float32)).transpose(2, 0, 1)[None]
        net.blobs["data"].data[...] = blob
        hits["caffe"] += label in np.argsort(net.forward()["prob"].ravel())[-5:]
        dnn.setInput(blob)
        hits["opencv"] += label in np.argsort(dnn.forward().ravel())[-5:]
    assert hits["caffe"] >= 0.8 * len(photos), hits
    assert hits["opencv"] >= 0.8 * len(photos), hits


@pytest.mark.slow
def test_feature_scales_bring_the_pretrained_tops_near_unit_rms_on_real_photos(caffe, tmp_path):
    """The squeeze head's fixed scales (colornet/nets/squeeze.py) are measured constants: each
    pretrained top, scaled, has an RMS within a factor of 2 of 1 on grey ImageNet photos at 224."""
    from colornet.nets import squeeze
    weights = tmp_path / "grey.caffemodel"
    squeezenet.write_caffemodel(squeezenet.grey_trunk(squeezenet.decode_packed(_packed_bytes())), weights)
    net = caffe.Net(str(REPO_ROOT / "prototxt/deploy_squeeze.prototxt"), str(weights), caffe.TEST)
    squares = {top: [] for top in squeeze.FEATURE_SCALES}
    for payload, _ in _sample_photos(12):
        bgr = cv2.imdecode(np.frombuffer(payload, np.uint8), cv2.IMREAD_COLOR)
        y = cv2.cvtColor(bgr, cv2.COLOR_BGR2YUV)[..., 0]
        net.blobs["data_y"].data[0, 0] = cv2.resize(y, (224, 224), interpolation=cv2.INTER_AREA)
        net.forward()
        for top in squares:
            squares[top].append(np.mean(net.blobs[f"{top}_scaled"].data ** 2))
    rms = {top: float(np.sqrt(np.mean(values))) for top, values in squares.items()}
    assert all(0.5 <= value <= 2 for value in rms.values()), rms
