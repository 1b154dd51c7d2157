"""Draw colornet's nets with Caffe's own drawing code (caffe.draw, pydot + Graphviz), from the
committed prototxt, into docs/.

    python tools/draw_nets.py                      # deploy_color and deploy_lab313 → docs/net_*.png
    python tools/draw_nets.py prototxt/train_val_color_lite.prototxt -o out/nets --phase TRAIN
"""
import logging
import pathlib

from colornet.common import REPO_ROOT, atomic_write_bytes

log = logging.getLogger("draw_nets")
DEFAULT_NETS = {"net_color": "prototxt/deploy_color.prototxt", "net_lab313": "prototxt/deploy_lab313.prototxt"}


def draw(prototxt, output, rankdir="LR", phase=None):
    """Write a PNG of the net in prototxt to output (written beside it, then renamed)."""
    import caffe.draw
    from caffe.proto import caffe_pb2
    from google.protobuf import text_format
    net = caffe_pb2.NetParameter()
    text_format.Merge(pathlib.Path(prototxt).read_text(), net)
    phases = {None: None, "TRAIN": caffe_pb2.TRAIN, "TEST": caffe_pb2.TEST}
    image = caffe.draw.draw_net(net, rankdir, ext="png", phase=phases[phase])
    atomic_write_bytes(output, image)
    return output


class DrawError(RuntimeError):
    """pydot is missing or a prototxt does not exist."""


def draw_nets(nets, output, rankdir="LR", phase=None):
    """Draw {name: prototxt} (default: the deploy color and Lab/313 nets) into output/NAME.png."""
    nets = nets or {name: REPO_ROOT / path for name, path in DEFAULT_NETS.items()}
    try:
        import pydot  # noqa: F401 - caffe.draw needs it; say so plainly rather than with its traceback
    except ImportError:
        raise DrawError("caffe.draw needs pydot (and Debian's graphviz): run `make setup`") from None
    output.mkdir(parents=True, exist_ok=True)
    for name, prototxt in nets.items():
        if not pathlib.Path(prototxt).is_file():
            raise DrawError(f"{prototxt}: no such prototxt")
        log.info("wrote %s", draw(prototxt, output / f"{name}.png", rankdir, phase))
