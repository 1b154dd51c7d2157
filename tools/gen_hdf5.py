"""Build an HDF5 YUV-64 dataset that Caffe's HDF5Data layer reads.

Each file holds ``/data`` (N×1×S×S float32 Y, 0..255; the nets subtract the mean themselves) and
``/label`` (N×1×S×S uint8 class 0..63; Caffe converts it to float when reading). Files are kept
under ``--max-file-mb``. ``list.txt`` beside them names the files, as HDF5Data's ``source`` wants;
its paths are written as given by ``--output`` (run Caffe from the same directory, the repo root).
Sampling options are those of gen_lmdb.py; the folder is built beside the target and renamed on
success.
"""
import argparse
import logging
import pathlib
import sys

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1]))  # run as a script: the repo's package

from colornet.common import OutputExists, setup_logging
from colornet.data.hdf5_writer import build
from colornet.data.lmdb_writer import RecordOptions, add_sampling_arguments, write_records

log = logging.getLogger("gen_hdf5")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_sampling_arguments(parser)
    parser.add_argument("--max-file-mb", type=float, default=256, help="largest file size in MiB (default 256)")
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
