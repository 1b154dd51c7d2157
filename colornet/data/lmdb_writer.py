"""Build an LMDB that Caffe's Data layer reads, from a folder or list file of photos.

Formats:
- ``yuv64`` (default): Datum 2×S×S uint8, channel 0 = Y, channel 1 = the packed 3+3-bit UV class
  (μ-law codec of colornet/colour/yuv64.py; grey = 36);
- ``bgr``: Datum 3×S×S uint8 BGR, as Caffe's convert_imageset writes, for the Lab/313 nets;
- ``lab``: Datum 3×S×S uint8 8-bit Lab (L·255/100, a + 128, b + 128, rounded: within 0.2 in L
  and 0.5 in a, b), for the stock Lab/313 nets, which then convert no colours while training.

With ``--scales`` each photo is stored whole (aspect kept) at each short side, so records differ
in size; Caffe's Data layer accepts that when its transform_param has a crop_size no larger than
the smallest scale, and then every epoch sees new windows, mirrors and object sizes instead of
the same fixed crops.

Keys are zero-padded record numbers (8 digits or more) in a seeded random order, so that
Caffe's Data layer, which reads in key order, gets batches mixed across photos. The database is
built in a temporary folder beside the target and renamed on success, so an interrupted build
never replaces a good one; a sidecar ``colornet.json`` inside it records how it was made.
Unreadable files are skipped, named in the log and counted.
"""
import argparse
import dataclasses
import json
import logging
import multiprocessing
import pathlib
import time

import lmdb
import numpy as np
from tqdm import tqdm

from colornet.colour import lab313
from colornet.colour.yuv64 import DEFAULT_BITS, DEFAULT_MU, Codec
from colornet.common import atomic_output_dir
from colornet.photo_io import UnreadableImage, list_images
from colornet.data.samples import MAX_ASPECT, RESIZE_MODES, photo_samples

log = logging.getLogger("gen_lmdb")

FORMATS = ("yuv64", "bgr", "lab")
CHANNEL_MEANING = {"yuv64": ["Y", "uv_class"], "bgr": ["B", "G", "R"], "lab": ["L*255/100", "a+128", "b+128"]}
INITIAL_MAP_SIZE = 1 << 28


@dataclasses.dataclass
class RecordOptions:
    """How records are sampled and written (the command lines' options of the same names)."""
    inputs: list
    output: pathlib.Path
    size: int = 224
    resize: str = "stretch"
    crops_per_photo: int = 0
    scales: tuple = ()
    mu: float = DEFAULT_MU
    bits: int = DEFAULT_BITS
    seed: int = 0
    workers: int = 1
    force: bool = False
    quiet: bool = False
    format: str = "yuv64"
    commit_every: int = 100
    max_file_mb: float = 256

    @classmethod
    def from_args(cls, args):
        return cls(**{field.name: getattr(args, field.name) for field in dataclasses.fields(cls)
                      if hasattr(args, field.name)})


def _varint(value):
    out = bytearray()
    while True:
        low, value = value & 0x7F, value >> 7
        out.append(low | (0x80 if value else 0))
        if not value:
            return bytes(out)


def datum_bytes(channels_first):
    """uint8 C×H×W → serialized caffe.Datum (raw, not encoded; label 0).

    Written as protobuf wire format directly (fields 1–5: channels, height, width, data, label):
    the same bytes caffe_pb2 produces, without importing pycaffe in every worker.
    """
    channels, height, width = channels_first.shape
    data = channels_first.tobytes()
    return b"".join([b"\x08", _varint(channels), b"\x10", _varint(height), b"\x18", _varint(width),
                     b"\x22", _varint(len(data)), data, b"\x28\x00"])


def encode_sample(bgr, data_format, codec):
    """One BGR sample → uint8 C×H×W array in the chosen record format."""
    if data_format == "bgr":
        return np.ascontiguousarray(bgr.transpose(2, 0, 1))
    if data_format == "lab":
        return np.ascontiguousarray(lab313.bgr8_to_lab8(bgr).transpose(2, 0, 1))
    y, labels = codec.encode_bgr(bgr)
    return np.stack([y, labels])


def record_job(job):
    """Worker: (index, path, settings) → (index, path, records, error or None).

    Records are serialized Datums, or C×H×W arrays when settings["serialize"] is false.
    """
    index, path, settings = job
    sampling = {k: settings[k] for k in ("size", "resize", "crops_per_photo", "seed")}
    sampling["scales"] = settings.get("scales", ())
    codec = Codec(settings["mu"], settings["bits"])
    try:
        samples = photo_samples(path, index, **sampling)
    except UnreadableImage as err:
        return index, path, None, str(err)
    arrays = [encode_sample(sample, settings["format"], codec) for sample in samples]
    if settings.get("serialize", True):
        return index, path, [datum_bytes(array) for array in arrays], None
    return index, path, arrays, None


def map_jobs(jobs, workers):
    if workers <= 1:
        yield from map(record_job, jobs)
        return
    with multiprocessing.get_context("fork").Pool(workers) as pool:
        yield from pool.imap(record_job, jobs, chunksize=1)


def readable_records(jobs, options, label, skipped):
    """(photo index, record number within the photo, record) for every record of every readable
    photo, in input order, with a progress bar; unreadable photos are logged and their errors
    appended to ``skipped``."""
    for index, _, records, error in tqdm(map_jobs(jobs, options.workers), total=len(jobs), unit="photo",
                                         desc=label, disable=options.quiet):
        if error:
            log.warning("skipped %s", error)
            skipped.append(error)
            continue
        for number, record in enumerate(records):
            yield index, number, record


def shuffled_keys(photos, records_per_photo, seed):
    """LMDB key of each (photo, record number): a seeded permutation of all the slots.

    Caffe's Data layer reads an LMDB in key order and never shuffles, so keys in input order
    made every batch a few crops of one or two photos (photo lists are sorted by source):
    correlated gradients, and BatchNorm statistics of a single photo. Keys are fixed before any
    photo is read, so nothing is held in memory; a skipped photo leaves unused keys, which LMDB
    does not mind.
    """
    order = np.random.default_rng(seed).permutation(photos * records_per_photo)
    width = max(8, len(str(len(order))))

    def key(photo, number):
        return f"{order[photo * records_per_photo + number]:0{width}d}".encode()
    return key


class GrowingLmdbWriter:
    """Writes records in transactions of ``commit_every``; doubles the map size when it fills."""

    def __init__(self, folder, commit_every):
        self.env = lmdb.open(str(folder), map_size=INITIAL_MAP_SIZE, subdir=True, meminit=False)
        self.commit_every = commit_every
        self.pending = []
        self.count = 0

    def add(self, key, payload):
        self.pending.append((key, payload))
        if len(self.pending) >= self.commit_every:
            self.commit()

    def commit(self):
        while self.pending:
            try:
                with self.env.begin(write=True) as txn:
                    for key, payload in self.pending:
                        txn.put(key, payload)
            except lmdb.MapFullError:
                self.env.set_mapsize(self.env.info()["map_size"] * 2)
                continue
            self.count += len(self.pending)
            self.pending = []

    def close(self):
        self.commit()
        self.env.sync()
        self.env.close()


def build(photos, output, options):
    """Write the LMDB `output` of every readable photo; returns the sidecar (a dict)."""
    settings = {"size": options.size, "resize": options.resize, "crops_per_photo": options.crops_per_photo,
                "seed": options.seed, "mu": options.mu, "bits": options.bits, "format": options.format,
                "scales": tuple(options.scales)}
    jobs = [(index, str(path), settings) for index, path in enumerate(photos)]
    skipped = []
    started = time.time()
    with atomic_output_dir(output, force=options.force) as staging:
        writer = GrowingLmdbWriter(staging, options.commit_every)
        key = shuffled_keys(len(photos), records_per_photo(options), options.seed)
        try:
            for photo, number, payload in readable_records(jobs, options, output.name, skipped):
                writer.add(key(photo, number), payload)
        finally:
            writer.close()
        if writer.count == 0:
            raise RuntimeError(f"no readable photos among {len(photos)} inputs; {output} not written")
        codec = Codec(options.mu, options.bits)
        sidecar = {
            "tool": "tools/gen_lmdb.py", "format": options.format,
            "datum": datum_description(options),
            "codec": codec.describe() if options.format == "yuv64" else None,
            "size": options.size, "resize": sampling_name(options), "scales": list(options.scales),
            "crops_per_photo": options.crops_per_photo, "seed": options.seed, "record_order": "shuffled by seed",
            "inputs": [str(i) for i in options.inputs], "photos": len(photos),
            "photos_used": len(photos) - len(skipped), "records": writer.count,
            "skipped": len(skipped), "skipped_files": skipped,
            "seconds": round(time.time() - started, 2), "workers": options.workers,
        }
        (staging / "colornet.json").write_text(json.dumps(sidecar, indent=1))
    log.info("%s: %d records from %d photos (%d skipped) in %.1f s", output, writer.count,
             len(photos) - len(skipped), len(skipped), time.time() - started)
    return sidecar


def records_per_photo(options):
    return len(options.scales) or max(options.crops_per_photo, 1)


def sampling_name(options):
    if options.scales:
        return "whole-at-scales"
    return options.resize if options.crops_per_photo == 0 else "random-crops"


def datum_description(options):
    channels = {"channels": len(CHANNEL_MEANING[options.format]), "channel_meaning": CHANNEL_MEANING[options.format]}
    if options.scales:
        return {**channels, "short_side": list(options.scales), "long_side_max": f"{MAX_ASPECT} × short side"}
    return {**channels, "height": options.size, "width": options.size}


def parse_scales(text):
    """'160,224,320' → (160, 224, 320); argparse's type for --scales."""
    try:
        scales = tuple(int(part) for part in text.split(",") if part.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(f"--scales takes short sides separated by commas, e.g. 160,224,320; got '{text}'")
    if not scales or min(scales) < 8:
        raise argparse.ArgumentTypeError(f"--scales: each short side must be at least 8 pixels; got '{text}'")
    return scales


def add_sampling_arguments(parser):
    parser.add_argument("inputs", nargs="+", type=pathlib.Path,
                        help="photo folders, image files, or list files (.txt, paths relative to the list)")
    parser.add_argument("-o", "--output", type=pathlib.Path, required=True, help="database to create")
    parser.add_argument("--size", type=int, default=224, help="side S of the square samples (default 224)")
    parser.add_argument("--resize", choices=RESIZE_MODES, default="stretch",
                        help="whole-photo mode when --crops-per-photo is 0: stretch (the original's) or centre crop")
    parser.add_argument("--crops-per-photo", type=int, default=0, metavar="N",
                        help="N random square crops per photo (scale 0.35-1, random flips) instead of one resize")
    parser.add_argument("--scales", type=parse_scales, default=(), metavar="S1,S2,…",
                        help="store each photo whole at these short sides (e.g. 160,224,320) instead of crops; "
                             "the Data layer's crop_size must be at most the smallest")
    parser.add_argument("--mu", type=float, default=DEFAULT_MU, help="μ-law constant (default 10)")
    parser.add_argument("--bits", type=int, default=DEFAULT_BITS, help="bits per U/V component (default 3: 64 classes)")
    parser.add_argument("--seed", type=int, default=0, help="seed of crops and flips (default 0)")
    parser.add_argument("--workers", type=int, default=1, help="worker processes (default 1)")
    parser.add_argument("--force", action="store_true", help="replace an existing output")
    parser.add_argument("--quiet", "-q", action="store_true", help="no progress bar")


class NoPhotos(ValueError):
    """The inputs list no photo."""


def write_records(build_function, options):
    """List the photos of ``options.inputs`` and build ``options.output`` with ``build_function``
    (this module's build, or hdf5_writer's). Raises NoPhotos, common.OutputExists, OSError,
    RuntimeError (nothing readable) or ValueError."""
    if options.scales and options.crops_per_photo:
        raise ValueError("--scales and --crops-per-photo exclude each other: whole photos at scales, or crops")
    photos = list_images(options.inputs)
    if not photos:
        raise NoPhotos(f"no photos found in {' '.join(map(str, options.inputs))}")
    return build_function(photos, pathlib.Path(options.output), options)
