"""Turn a training snapshot into a self-contained model folder that use_trained_model.py loads.

    python tools/export_model.py --deploy prototxt/deploy_lab313_lite.prototxt \\
        --weights models/snapshots/lab313_lite_iter_1500.caffemodel -o models/default

    python tools/export_model.py --hint-net --deploy prototxt/deploy_squeeze_hints.prototxt \\
        --weights models/snapshots/squeeze_hints_iter_2000.caffemodel --hint-weight 0.02 --hint-reach 192 -o models/default

    python tools/export_model.py --hint-transfer automatic --hint-weight 0.002 --hint-reach 384 -o models/mine

Writes deploy.prototxt, weights.caffemodel and model.json (--hint-net: adds a hint-conditioned
net trained from the folder's weights to an existing model folder; --hint-transfer: names how its
hinted photos are made). The weights are saved from the deploy
net, so they carry every blob, the constant ones included (conv8_313_rh's 2.606, class8_ab's bin
centres, the input centring): OpenCV's dnn and other loaders need nothing injected.
"""
import argparse
import json
import logging
import pathlib
import sys

from colornet.colorize.models import ModelError
from colornet.common import OutputExists, setup_logging
from colornet.train.export import add_hint_net, export_model, set_hint_transfer

log = logging.getLogger("export_model")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--deploy", type=pathlib.Path, help="deploy .prototxt of the trained net (not with --hint-transfer)")
    parser.add_argument("--weights", type=pathlib.Path, help="snapshot .caffemodel (not with --hint-transfer)")
    parser.add_argument("-o", "--output", type=pathlib.Path, required=True, help="model folder to write (e.g. models/default)")
    parser.add_argument("--info", type=pathlib.Path, help="JSON file of extra facts for model.json (data, metrics, …)")
    parser.add_argument("--force", action="store_true", help="replace an existing model folder")
    parser.add_argument("--hint-net", action="store_true",
                        help="add the snapshot as the hint net of the existing model folder -o")
    parser.add_argument("--hint-transfer", choices=("automatic", "hint_net"),
                        help="name in the existing model folder -o's card that hinted photos are the hints' corrections "
                             "to these colours (colorize/hint_transfer.py), with --hint-weight and --hint-reach")
    parser.add_argument("--hint-temperature", type=float, default=1.0,
                        help="with --hint-transfer: the temperature its colours are decoded at (default %(default)g)")
    parser.add_argument("--net-guide", type=float, default=10.0,
                        help="with --hint-transfer: weight of the net's colours beside the luminance in the "
                             "affinities (default %(default)g; 0: the luminance alone)")
    parser.add_argument("--hint-weight", type=float, default=1.0,
                        help="with --hint-net or --hint-transfer: weight of its colours beside the hints' propagation (default %(default)g)")
    parser.add_argument("--hint-reach", type=float, default=0.0,
                        help="with --hint-net or --hint-transfer: grid pixels (per hint) over which that weight rises from 0 at the hints "
                             "(default %(default)g: none)")
    args = parser.parse_args(argv)
    if not args.hint_transfer and not (args.deploy and args.weights):
        parser.error("--deploy and --weights are needed (all but --hint-transfer export a net)")
    setup_logging()
    try:
        info = json.loads(args.info.read_text()) if args.info else None
        if args.hint_transfer:
            set_hint_transfer(args.output, args.hint_transfer, args.hint_temperature, args.net_guide,
                              args.hint_weight, args.hint_reach, info)
        elif args.hint_net:
            add_hint_net(args.output, args.deploy, args.weights, args.hint_weight, args.hint_reach, info)
        else:
            export_model(args.deploy, args.weights, args.output, info, args.force)
    except (ModelError, OutputExists, OSError, ValueError) as error:
        log.error("%s", error)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
