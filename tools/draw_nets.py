"""Draw colornet's nets with Caffe's own drawing code (caffe.draw, pydot + Graphviz), from the
committed prototxt, into docs/.

    python tools/draw_nets.py                      # deploy_color and deploy_lab313 → docs/net_*.png
    python tools/draw_nets.py prototxt/train_val_color_lite.prototxt -o out/nets --phase TRAIN
"""
import argparse
import logging
import pathlib
import sys

if __package__ in (None, ""):
    sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1]))

from tools.common import REPO_ROOT, atomic_write_bytes, setup_logging

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


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("nets", nargs="*", type=pathlib.Path,
                        help="prototxt files (default: deploy_color and deploy_lab313 into docs/)")
    parser.add_argument("-o", "--output", type=pathlib.Path, default=REPO_ROOT / "docs", help="folder (default docs/)")
    parser.add_argument("--rankdir", choices=("LR", "TB", "BT", "RL"), default="LR",
                        help="direction of the drawing (default LR: left to right)")
    parser.add_argument("--phase", choices=("TRAIN", "TEST"), help="draw only one phase's layers (default all)")
    args = parser.parse_args(argv)
    setup_logging()
    nets = {path.stem: path for path in args.nets} or {name: REPO_ROOT / path for name, path in DEFAULT_NETS.items()}
    try:
        import pydot  # noqa: F401 - caffe.draw needs it; say so plainly rather than with its traceback
    except ImportError:
        log.error("caffe.draw needs pydot (and Debian's graphviz): run `make setup`")
        return 2
    args.output.mkdir(parents=True, exist_ok=True)
    for name, prototxt in nets.items():
        if not prototxt.is_file():
            log.error("%s: no such prototxt", prototxt)
            return 2
        log.info("wrote %s", draw(prototxt, args.output / f"{name}.png", args.rankdir, args.phase))
    return 0


if __name__ == "__main__":
    sys.exit(main())
