"""Drawing nets: caffe.draw (pydot + Graphviz) works after make setup, and make diagrams' tool."""
import shutil

import cv2
import pytest

from tests.conftest import REPO_ROOT, run_tool
from colornet.nets import draw as draw_nets

pytest.importorskip("pydot", reason="needs pydot (make setup)")
needs_graphviz = pytest.mark.skipif(shutil.which("dot") is None, reason="needs Debian's graphviz (make setup)")


@needs_graphviz
def test_caffe_draw_draws_a_generated_net_with_every_layer(caffe, tmp_path):
    import caffe.draw
    from caffe.proto import caffe_pb2
    from google.protobuf import text_format
    net = caffe_pb2.NetParameter()
    text_format.Merge((REPO_ROOT / "prototxt/train_val_color_lite.prototxt").read_text(), net)
    graph = caffe.draw.get_pydot_graph(net, "LR", phase=caffe_pb2.TRAIN)
    # A layer's node is named by its label: "NAME\n(TYPE)…"; in-place layers (ReLU) share their blob's.
    labels = {node.get_name().strip('"').split("\\n")[0] for node in graph.get_nodes()}
    drawn = [layer for layer in net.layer if layer.top[:1] != layer.bottom[:1]
             and all(rule.phase == caffe_pb2.TRAIN for rule in layer.include)]
    assert len(drawn) > 30 and all(layer.name in labels for layer in drawn)
    image = caffe.draw.draw_net(net, "TB", ext="png", phase=caffe_pb2.TRAIN)
    assert image[:8] == b"\x89PNG\r\n\x1a\n"


@needs_graphviz
def test_draw_nets_writes_readable_pictures(tmp_path):
    result = run_tool("draw_nets", REPO_ROOT / "prototxt/deploy_color_lite.prototxt", "-o", tmp_path)
    assert result.returncode == 0, result.stderr
    picture = cv2.imread(str(tmp_path / "deploy_color_lite.png"))
    assert picture is not None and picture.shape[1] > 2000  # one box per layer, left to right
    with pytest.raises(draw_nets.DrawError, match="missing.prototxt: no such prototxt"):
        draw_nets.draw_nets({"missing": tmp_path / "missing.prototxt"}, tmp_path)
