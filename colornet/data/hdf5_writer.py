"""Build an HDF5 YUV-64 dataset that Caffe's HDF5Data layer reads.

Each file holds ``/data`` (N×1×S×S float32 Y, 0..255; the nets subtract the mean themselves) and
``/label`` (N×1×S×S uint8 class 0..63; Caffe converts it to float when reading). Files are kept
under ``--max-file-mb``. ``list.txt`` beside them names the files, as HDF5Data's ``source`` wants;
its paths are written as given by ``--output`` (run Caffe from the same directory, the repo root).
Sampling options are lmdb_writer.RecordOptions; the folder is built beside the target and renamed on
success.
"""
import json
import logging
import time

import h5py
import numpy as np

from colornet.colour.yuv64 import Codec
from colornet.common import atomic_output_dir
from colornet.data.lmdb_writer import readable_records

log = logging.getLogger("gen_hdf5")


class ChunkedHdf5Writer:
    """Buffers samples and writes part-NNNNN.h5 files of at most ``records_per_file`` samples."""

    def __init__(self, staging, final_folder, records_per_file):
        self.staging, self.final_folder = staging, final_folder
        self.records_per_file = records_per_file
        self.y, self.labels, self.files = [], [], []
        self.count = 0

    def add(self, y, labels):
        self.y.append(y)
        self.labels.append(labels)
        if len(self.y) >= self.records_per_file:
            self.flush()

    def flush(self):
        if not self.y:
            return
        name = f"part-{len(self.files):05d}.h5"
        with h5py.File(self.staging / name, "w") as h5:
            h5.create_dataset("data", data=np.stack(self.y)[:, None].astype(np.float32))
            h5.create_dataset("label", data=np.stack(self.labels)[:, None].astype(np.uint8))
        self.files.append(name)
        self.count += len(self.y)
        self.y, self.labels = [], []

    def close(self):
        self.flush()
        (self.staging / "list.txt").write_text("".join(f"{self.final_folder / n}\n" for n in self.files))


def build(photos, output, options):
    """Write the HDF5 folder `output` of every readable photo; returns the sidecar (a dict)."""
    if options.scales:
        raise ValueError("--scales needs records of varying size, which HDF5Data cannot read: use tools/gen_lmdb.py")
    settings = {"size": options.size, "resize": options.resize, "crops_per_photo": options.crops_per_photo,
                "seed": options.seed, "mu": options.mu, "bits": options.bits, "format": "yuv64", "serialize": False}
    jobs = [(index, str(path), settings) for index, path in enumerate(photos)]
    bytes_per_record = options.size * options.size * 5
    records_per_file = max(1, int(options.max_file_mb * 2 ** 20 // bytes_per_record))
    skipped = []
    started = time.time()
    with atomic_output_dir(output, force=options.force) as staging:
        writer = ChunkedHdf5Writer(staging, output, records_per_file)
        # Rows stay in input order: the HDF5Data layer shuffles them itself (shuffle: true).
        for _, _, record in readable_records(jobs, options, output.name, skipped):
            writer.add(record[0], record[1])
        writer.close()
        if writer.count == 0:
            raise RuntimeError(f"no readable photos among {len(photos)} inputs; {output} not written")
        sidecar = {"tool": "tools/gen_hdf5.py", "format": "yuv64-hdf5",
                   "datasets": {"data": "N×1×S×S float32 Y 0..255", "label": "N×1×S×S uint8 class"},
                   "codec": Codec(options.mu, options.bits).describe(), "size": options.size,
                   "resize": options.resize if options.crops_per_photo == 0 else "random-crops",
                   "crops_per_photo": options.crops_per_photo, "seed": options.seed,
                   "inputs": [str(i) for i in options.inputs], "photos": len(photos),
                   "records": writer.count, "files": writer.files, "records_per_file": records_per_file,
                   "skipped": len(skipped), "skipped_files": skipped,
                   "seconds": round(time.time() - started, 2)}
        (staging / "colornet.json").write_text(json.dumps(sidecar, indent=1))
    log.info("%s: %d records in %d files from %d photos (%d skipped)", output, writer.count,
             len(writer.files), len(photos) - len(skipped), len(skipped))
    return sidecar
