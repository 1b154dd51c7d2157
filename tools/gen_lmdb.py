"""Build an LMDB that Caffe's Data layer reads, from a folder or list file of photos.

Formats:
- ``yuv64`` (default): Datum 2×S×S uint8, channel 0 = Y, channel 1 = the packed 3+3-bit UV class
  (μ-law codec of layers/yuv64.py; grey = 36);
- ``bgr``: Datum 3×S×S uint8 BGR, as Caffe's convert_imageset writes, for the Lab/313 nets;
- ``lab``: Datum 3×S×S uint8 8-bit Lab (L·255/100, a + 128, b + 128, rounded: within 0.2 in L
  and 0.5 in a, b), for the stock Lab/313 nets, which then convert no colours while training.

Keys are zero-padded record numbers (8 digits or more) in a seeded random order, so that
Caffe's Data layer, which reads in key order, gets batches mixed across photos. The database is
built in a temporary folder beside the target and renamed on success, so an interrupted build
never replaces a good one; a sidecar ``colornet.json`` inside it records how it was made.
Unreadable files are skipped, named in the log and counted.
"""
import argparse
import logging
import pathlib
import sys

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1]))  # run as a script: the repo's package

from colornet.common import OutputExists, setup_logging
from colornet.data.lmdb_writer import FORMATS, RecordOptions, add_sampling_arguments, build, write_records

log = logging.getLogger("gen_lmdb")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_sampling_arguments(parser)
    parser.add_argument("--format", choices=FORMATS, default="yuv64", help="record format (default yuv64)")
    parser.add_argument("--commit-every", type=int, default=100, help="records per transaction (default 100)")
    options = RecordOptions.from_args(parser.parse_args(argv))
    setup_logging()
    try:
        write_records(build, options)
    except (OutputExists, OSError, RuntimeError, ValueError) as error:
        log.error("%s", error)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
