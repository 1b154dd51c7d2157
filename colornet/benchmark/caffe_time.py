"""Parse `caffe time` logs: per log, the average forward, backward and forward-backward
milliseconds per iteration, the batch size and per-layer averages (bench/caffe_time.py writes
them into bench/RESULTS.md; bench_layers.py and bench_lab313_stock.py read them too).
"""
import logging
import pathlib
import re

log = logging.getLogger("caffe_time")
TOTAL = re.compile(r"\] Average (Forward|Backward|Forward-Backward)(?: pass)?: ([\d.]+) ms")
PER_LAYER = re.compile(r"\]\s+(\S+)\s+(forward|backward): ([\d.]+) ms\.")
BATCH = re.compile(r"\] Top shape: (\d+) ")


def parse(text):
    totals = {kind: float(ms) for kind, ms in TOTAL.findall(text)}
    layers = {}
    for name, direction, ms in PER_LAYER.findall(text):
        layers.setdefault(name, {})[direction] = float(ms)
    batch = BATCH.search(text)
    return {"totals": totals, "layers": layers, "batch": int(batch.group(1)) if batch else None}


def layer_types(prototxt):
    from google.protobuf import text_format
    from caffe.proto import caffe_pb2
    net = caffe_pb2.NetParameter()
    text_format.Parse(pathlib.Path(prototxt).read_text(), net)
    return {layer.name: layer.type for layer in net.layer}
