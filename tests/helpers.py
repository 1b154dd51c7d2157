"""Helpers the tests of several packages share: real photos made into test inputs, a
decompression bomb, a served instance of tools/serve.py, and generated nets rewritten to run on
tiny data."""
import pathlib
import socket
import struct
import subprocess
import sys
import time
import urllib.request
import zlib

import cv2
from google.protobuf import text_format

from tests.conftest import REPO_ROOT, convolution_weights, write_tiny_train_net

SKIMAGE_DATA = pathlib.Path(__import__("skimage").__file__).parent / "data"


def png_bomb(path, side=30000):
    """A valid 1-bit grey PNG of side×side black pixels: ~100 KB that decodes to side² pixels."""
    row = b"\0" * (1 + (side + 7) // 8)
    compressor, chunks = zlib.compressobj(9), []
    for _ in range(side):
        chunks.append(compressor.compress(row))
    chunks.append(compressor.flush())
    data = b"".join(chunks)

    def chunk(kind, body):
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", side, side, 1, 0, 0, 0, 0))
                     + chunk(b"IDAT", data) + chunk(b"IEND", b""))
    return path


def grey_jpeg(path, name="coffee.png", size=None):
    image = cv2.imread(str(SKIMAGE_DATA / name), cv2.IMREAD_GRAYSCALE)
    if size:
        image = cv2.resize(image, size, interpolation=cv2.INTER_AREA)
    cv2.imwrite(str(path), image, [cv2.IMWRITE_JPEG_QUALITY, 90])
    return path


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def start_server(port, *extra):
    process = subprocess.Popen([sys.executable, str(REPO_ROOT / "tools/serve.py"), "--port", str(port), *extra],
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as answer:
                if answer.status == 200:
                    return process
        except OSError:
            time.sleep(0.5)
    process.kill()
    raise AssertionError(f"server did not start: {process.stdout.read()}")


def with_input_instead_of_data(prototxt_path, shape, tmp_path, label_shape=None):
    """The train_val net with its Data layers replaced by one Input layer of the given shape
    (and, for HDF5Data nets, one for "label")."""
    from caffe.proto import caffe_pb2
    net = caffe_pb2.NetParameter()
    text_format.Parse(prototxt_path.read_text(), net)
    layers = [layer for layer in net.layer if layer.type not in ("Data", "HDF5Data")]
    del net.layer[:]
    data = net.layer.add(name="data", type="Input", top=["data"])
    data.input_param.shape.add(dim=shape)
    if label_shape is not None:
        label = net.layer.add(name="label", type="Input", top=["label"])
        label.input_param.shape.add(dim=label_shape)
    net.layer.extend(layers)
    path = tmp_path / prototxt_path.name
    path.write_text(text_format.MessageToString(net))
    return str(path)


def solver_on_tiny_lmdb(caffe, tmp_path, net_name, lmdb_path, batch, base_lr, max_iter):
    """An Adam solver for a generated train_val net, reading the tiny LMDB for TRAIN and TEST."""
    net = write_tiny_train_net(tmp_path, net_name, lmdb_path, batch)
    (tmp_path / "solver.prototxt").write_text(
        f'net: "{net}"\ntype: "Adam"\nbase_lr: {base_lr}\nmomentum: 0.9\nmomentum2: 0.99\n'
        f'lr_policy: "fixed"\nmax_iter: {max_iter}\nsolver_mode: CPU\nrandom_seed: 1\n')
    return caffe.get_solver(str(tmp_path / "solver.prototxt"))


def steps_moving(solver, loss_blob, steps=30):
    """Run `steps` solver steps one by one → (the (de)convolution layers whose weights moved, the
    loss blob's value after each step)."""
    import numpy as np
    before = convolution_weights(solver.net)
    losses = []
    for _ in range(steps):
        solver.step(1)
        losses.append(float(solver.net.blobs[loss_blob].data))
    after = convolution_weights(solver.net)
    return {name for name in before if not np.array_equal(before[name], after[name])}, losses


def deploy_in_both_backends(caffe, deploy, tmp_path, input_name, array, output):
    """A deploy net with its initial (filled) weights, run on `array` by pycaffe and by OpenCV's
    dnn from the same saved weights → (pycaffe's output blob, OpenCV's)."""
    net = caffe.Net(str(deploy), caffe.TEST)
    weights = tmp_path / "random.caffemodel"
    net.save(str(weights))
    net.blobs[input_name].data[...] = array
    by_caffe = net.forward()[output].copy()
    dnn = cv2.dnn.readNetFromCaffe(str(deploy), str(weights))
    dnn.setInput(array)
    return by_caffe, dnn.forward()
