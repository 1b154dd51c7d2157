"""Build an HDF5 YUV-64 dataset that Caffe's HDF5Data layer reads.

What it does and why: colornet/data/hdf5_writer.py (shown below by --help).
"""
import argparse
import logging
import sys

from colornet.common import OutputExists, exit_status, setup_logging
from colornet.data.hdf5_writer import build
from colornet.data.lmdb_writer import RecordOptions, add_sampling_arguments, write_records
from colornet.data import hdf5_writer as hdf5_writer_module

log = logging.getLogger("gen_hdf5")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, epilog=hdf5_writer_module.__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    add_sampling_arguments(parser)
    parser.add_argument("--max-file-mb", type=float, default=256, help="largest file size in MiB (default 256)")
    options = RecordOptions.from_args(parser.parse_args(argv))
    setup_logging()
    return exit_status(log, lambda: write_records(build, options), OutputExists, OSError, RuntimeError, ValueError)


if __name__ == "__main__":
    sys.exit(main())
