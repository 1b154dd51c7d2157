"""Inspect a YUV-64 (or BGR) LMDB: class histogram with the grey class's share, and a PNG contact
sheet of the first records decoded back to colour (grey Y | decoded colour, side by side)."""
import argparse
import logging
import pathlib
import sys

from colornet.common import exit_status, setup_logging
from colornet.data.inspect import inspect_records

log = logging.getLogger("inspect_lmdb")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("lmdb", type=pathlib.Path, help="the LMDB folder")
    parser.add_argument("--sheet", type=pathlib.Path, help="write a contact sheet PNG here")
    parser.add_argument("--count", type=int, default=16, help="records on the contact sheet (default 16)")
    parser.add_argument("--json", type=pathlib.Path, help="also write the histogram as JSON here")
    parser.add_argument("--prior", type=pathlib.Path,
                        help="write the class prior (grey class excluded) as .npy here, for the YUV-64 nets' "
                             "class rebalancing (make lmdb writes data/yuv64_prior_probs.npy)")
    parser.add_argument("--prior-with-grey", type=pathlib.Path,
                        help="write the class prior over all 64 classes (grey counted) here, for nets whose loss "
                             "counts grey (make lmdb writes data/yuv64_prior_probs_grey.npy)")
    args = parser.parse_args(argv)
    setup_logging()
    return exit_status(log, lambda: inspect_records(args.lmdb, args.sheet, args.count, args.json, args.prior,
                                                    args.prior_with_grey), ValueError)


if __name__ == "__main__":
    sys.exit(main())
