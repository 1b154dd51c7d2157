"""Inspect a YUV-64 (or BGR) LMDB: class histogram with the grey class's share, and a PNG contact
sheet of the first records decoded back to colour (grey Y | decoded colour, side by side)."""
import io
import json
import logging
import pathlib


import cv2
import lmdb
import numpy as np

from colornet.colour.yuv64 import Codec, class_prior
from colornet.common import atomic_write_bytes

log = logging.getLogger("inspect_lmdb")


def read_records(folder, limit=None):
    """Yield (key, uint8 C×H×W array) from a Caffe Datum LMDB."""
    from caffe.proto import caffe_pb2
    env = lmdb.open(str(folder), readonly=True, lock=False, subdir=True)
    try:
        with env.begin() as txn:
            for number, (key, value) in enumerate(txn.cursor()):
                if limit is not None and number >= limit:
                    break
                datum = caffe_pb2.Datum()
                datum.ParseFromString(value)
                yield key.decode(), np.frombuffer(datum.data, np.uint8).reshape(
                    datum.channels, datum.height, datum.width)
    finally:
        env.close()


def codec_of(folder):
    sidecar = pathlib.Path(folder) / "colornet.json"
    if sidecar.exists():
        described = json.loads(sidecar.read_text()).get("codec") or {}
        return Codec(described.get("mu", 10.0), described.get("bits_per_component", 3))
    return Codec()


def class_histogram(folder, codec):
    counts = np.zeros(codec.num_classes, dtype=np.int64)
    records = 0
    for _, array in read_records(folder):
        if array.shape[0] != 2:
            raise ValueError(f"{folder}: records have {array.shape[0]} channels; the histogram needs YUV-64 records (2)")
        counts += np.bincount(array[1].ravel(), minlength=codec.num_classes)
        records += 1
    return counts, records


def contact_sheet(folder, codec, count, columns=4, tile=128):
    """First ``count`` records as tiles: grey | colour (YUV-64) or the BGR image itself."""
    tiles = []
    for _, array in read_records(folder, count):
        if array.shape[0] == 2:
            grey = cv2.cvtColor(array[0], cv2.COLOR_GRAY2BGR)
            colour = codec.decode_to_bgr(array[0], array[1])
            pair = np.hstack([cv2.resize(grey, (tile, tile)), cv2.resize(colour, (tile, tile))])
        else:
            pair = cv2.resize(np.ascontiguousarray(array.transpose(1, 2, 0)), (tile, tile))
        tiles.append(cv2.copyMakeBorder(pair, 2, 2, 2, 2, cv2.BORDER_CONSTANT, value=(255, 255, 255)))
    if not tiles:
        raise ValueError(f"{folder}: no records")
    while len(tiles) % columns:
        tiles.append(np.full_like(tiles[0], 255))
    rows = [np.hstack(tiles[i:i + columns]) for i in range(0, len(tiles), columns)]
    return np.vstack(rows)


def inspect_records(folder, sheet=None, count=16, json_path=None, prior_path=None, prior_grey_path=None):
    """Log the class histogram of a YUV-64 LMDB; optionally write a contact sheet of `count`
    records, the histogram as JSON and the class prior as .npy, grey excluded (``prior_path``, for
    nets that skip grey) or counted (``prior_grey_path``). Raises ValueError."""
    folder = pathlib.Path(folder)
    if not (folder / "data.mdb").exists():
        raise ValueError(f"{folder}: not an LMDB folder (no data.mdb)")
    codec = codec_of(folder)
    if sheet:
        cv2.imwrite(str(sheet), contact_sheet(folder, codec, count))
        log.info("contact sheet: %s", sheet)
    counts, records = class_histogram(folder, codec)
    total = counts.sum()
    share = counts / max(total, 1)
    log.info("%d records, %d pixels; grey class %d: %.1f%% of pixels; %d classes present",
             records, total, codec.grey_class, 100 * share[codec.grey_class], int((counts > 0).sum()))
    for label in np.argsort(-counts)[:12]:
        u, v = codec.class_uv_offsets[label]
        log.info("class %2d (u %+4d, v %+4d): %6.2f%%", label, u, v, 100 * share[label])
    if json_path:
        json_path.write_text(json.dumps({"records": records, "pixels": int(total),
                                         "grey_class": codec.grey_class, "counts": counts.tolist()}))
    for path, ignored in ((prior_path, codec.grey_class), (prior_grey_path, None)):
        if not path:
            continue
        try:
            prior = class_prior(counts, ignored)
        except ValueError as err:
            raise ValueError(f"{folder}: {err}") from None
        payload = io.BytesIO()
        np.save(payload, prior)
        atomic_write_bytes(path, payload.getvalue())
        log.info("class prior over %d classes: %s", int((prior > 0).sum()), path)
    return counts
