"""Parse `caffe time` logs and write their numbers into bench/RESULTS.md.

    python3 bench/caffe_time.py logs/bench/*.log --section "bench_nets: caffe time per net"

Used by bench/bench_nets.sh and bench/bench_layers.py. Per log: the average forward, backward and
forward-backward milliseconds per iteration, and per-layer averages.
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
