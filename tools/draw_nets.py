"""Draw colornet's nets with Caffe's own drawing code (caffe.draw, pydot + Graphviz), from the
committed prototxt, into docs/.

    python tools/draw_nets.py                      # deploy_color and deploy_lab313 → docs/net_*.png
    python tools/draw_nets.py prototxt/train_val_color_lite.prototxt -o out/nets --phase TRAIN
"""
import argparse
import logging
import pathlib
import sys

from colornet.common import REPO_ROOT, exit_status, setup_logging
from colornet.nets.draw import DrawError, draw_nets

log = logging.getLogger("draw_nets")


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
    nets = {path.stem: path for path in args.nets}
    return exit_status(log, lambda: draw_nets(nets, args.output, args.rankdir, args.phase), DrawError, status=2)


if __name__ == "__main__":
    sys.exit(main())
