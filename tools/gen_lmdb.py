"""Build an LMDB that Caffe's Data layer reads, from a folder or list file of photos.

What it does and why: colornet/data/lmdb_writer.py (shown below by --help).
"""
import argparse
import logging
import sys

from colornet.common import OutputExists, exit_status, setup_logging
from colornet.data.lmdb_writer import FORMATS, RecordOptions, add_sampling_arguments, build, write_records
from colornet.data import lmdb_writer as lmdb_writer_module

log = logging.getLogger("gen_lmdb")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, epilog=lmdb_writer_module.__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    add_sampling_arguments(parser)
    parser.add_argument("--format", choices=FORMATS, default="yuv64", help="record format (default yuv64)")
    parser.add_argument("--commit-every", type=int, default=100, help="records per transaction (default 100)")
    options = RecordOptions.from_args(parser.parse_args(argv))
    setup_logging()
    return exit_status(log, lambda: write_records(build, options), OutputExists, OSError, RuntimeError, ValueError)


if __name__ == "__main__":
    sys.exit(main())
