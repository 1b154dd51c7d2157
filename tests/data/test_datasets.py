"""Datasets written by gen_lmdb.py / gen_hdf5.py, read back through Caffe's own layers."""
import json

import cv2
import numpy as np
import pytest
from PIL import Image

from colornet.colour.yuv64 import Codec
from colornet.data import hdf5_writer as gen_hdf5
from colornet.data import lmdb_writer as gen_lmdb
from colornet.photo_io import UnreadableImage, decode_bgr, list_images, read_bgr
from colornet.data.samples import photo_samples
from colornet.common import OutputExists
from tests.conftest import run_tool

SIZE = 32


@pytest.fixture
def photo_dir(tmp_path):
    """Five small colour photos of different sizes, plus a corrupt and a non-image file."""
    folder = tmp_path / "photos"
    folder.mkdir()
    rng = np.random.default_rng(1)
    for index, (height, width) in enumerate([(40, 60), (64, 48), (50, 50), (33, 80), (70, 45)]):
        base = rng.integers(0, 256, size=(4, 4, 3), dtype=np.uint8)
        image = cv2.resize(base, (width, height), interpolation=cv2.INTER_LINEAR)
        cv2.imwrite(str(folder / f"photo{index}.png"), image)
    (folder / "broken.jpg").write_bytes(b"\xff\xd8\xff\xe0 this is not really a jpeg")
    (folder / "notes.png").write_text("plain text, not an image")
    return folder


def expected_records(photos, crops=0, resize="stretch", seed=0, order="keys"):
    """The records gen_lmdb should write, in LMDB key order (order="keys") or input order."""
    codec = Codec()
    key = gen_lmdb.shuffled_keys(len(photos), max(crops, 1), seed)
    records = []
    for index, path in enumerate(photos):
        try:
            samples = photo_samples(path, index, SIZE, resize, crops, seed)
        except UnreadableImage:
            continue
        for number, sample in enumerate(samples):
            y, labels = codec.encode_bgr(sample)
            records.append((key(index, number), np.stack([y, labels])))
    if order == "keys":
        records.sort(key=lambda pair: pair[0])
    return [record for _, record in records]


def run_gen_lmdb(photo_dir, output, **options):
    """tools/gen_lmdb.py's work through the package: 0 when built, 1 for the errors it reports."""
    try:
        gen_lmdb.write_records(gen_lmdb.build, gen_lmdb.RecordOptions([photo_dir], output, size=SIZE, quiet=True,
                                                                      **options))
    except (OutputExists, OSError, RuntimeError, ValueError):
        return 1
    return 0


def test_lmdb_read_through_caffe_data_layer_equals_codec(caffe, write_net, photo_dir, tmp_path):
    output = tmp_path / "train_lmdb"
    assert run_gen_lmdb(photo_dir, output, crops_per_photo=2, workers=2) == 0
    expected = expected_records(list_images([photo_dir]), crops=2)
    assert len(expected) == 10
    net = caffe.Net(write_net(f"""
layer {{ name: "data" type: "Data" top: "data" include {{ phase: TEST }}
  data_param {{ source: "{output}" backend: LMDB batch_size: 10 }} }}
layer {{ name: "slice" type: "Slice" bottom: "data" top: "data_y" top: "label_uv"
  slice_param {{ axis: 1 slice_point: 1 }} }}
"""), caffe.TEST)
    net.forward()
    got = np.concatenate([net.blobs["data_y"].data, net.blobs["label_uv"].data], axis=1)
    np.testing.assert_array_equal(got, np.stack(expected).astype(np.float32))
    sidecar = json.loads((output / "colornet.json").read_text())
    assert sidecar["records"] == 10 and sidecar["skipped"] == 2 and sidecar["codec"]["mu"] == 10.0
    assert any("broken.jpg" in name for name in sidecar["skipped_files"])


def test_bgr_lmdb_holds_plain_bgr_like_convert_imageset(caffe, write_net, photo_dir, tmp_path):
    output = tmp_path / "bgr_lmdb"
    assert run_gen_lmdb(photo_dir, output, format="bgr", resize="crop") == 0
    listed = list_images([photo_dir])
    key = gen_lmdb.shuffled_keys(len(listed), 1, 0)
    net = caffe.Net(write_net(f"""
layer {{ name: "data" type: "Data" top: "data" include {{ phase: TEST }}
  data_param {{ source: "{output}" backend: LMDB batch_size: 5 }} }}"""), caffe.TEST)
    net.forward()
    expected = [photo_samples(p, i, SIZE, "crop", 0, 0)[0].transpose(2, 0, 1)
                for i, p in sorted(enumerate(listed), key=lambda pair: key(pair[0], 0)) if p.name.startswith("photo")]
    np.testing.assert_array_equal(net.blobs["data"].data, np.stack(expected).astype(np.float32))


def test_hdf5_read_through_caffe_hdf5data_layer(caffe, write_net, photo_dir, tmp_path):
    output = tmp_path / "train_hdf5"
    gen_lmdb.write_records(gen_hdf5.build, gen_lmdb.RecordOptions([photo_dir], output, size=SIZE, quiet=True,
                                                                  max_file_mb=0.01))
    expected = expected_records(list_images([photo_dir]), order="input")
    assert len((output / "list.txt").read_text().split()) > 1  # bounded file size → several files
    net = caffe.Net(write_net(f"""
layer {{ name: "data" type: "HDF5Data" top: "data" top: "label" include {{ phase: TEST }}
  hdf5_data_param {{ source: "{output / 'list.txt'}" batch_size: 5 }} }}"""), caffe.TEST)
    net.forward()
    np.testing.assert_array_equal(net.blobs["data"].data, np.stack([r[:1] for r in expected]).astype(np.float32))
    np.testing.assert_array_equal(net.blobs["label"].data, np.stack([r[1:] for r in expected]).astype(np.float32))


def test_existing_database_needs_force(photo_dir, tmp_path):
    output = tmp_path / "db"
    assert run_gen_lmdb(photo_dir, output) == 0
    before = (output / "data.mdb").read_bytes()
    result = run_tool("gen_lmdb", photo_dir, "-o", output, "--size", SIZE, "--resize", "crop", "-q")
    assert result.returncode == 1 and "already exists (use --force" in result.stderr
    assert (output / "data.mdb").read_bytes() == before
    assert run_gen_lmdb(photo_dir, output, resize="crop", force=True) == 0
    assert (output / "data.mdb").read_bytes() != before


def test_interrupted_build_leaves_the_old_database_intact(photo_dir, tmp_path, monkeypatch):
    output = tmp_path / "db"
    assert run_gen_lmdb(photo_dir, output) == 0
    before = {p.name: p.read_bytes() for p in output.iterdir()}
    real_map_jobs = gen_lmdb.map_jobs

    def interrupted(jobs, workers):
        for number, result in enumerate(real_map_jobs(jobs, workers)):
            if number == 2:
                raise KeyboardInterrupt
            yield result
    monkeypatch.setattr(gen_lmdb, "map_jobs", interrupted)
    with pytest.raises(KeyboardInterrupt):
        run_gen_lmdb(photo_dir, output, force=True, crops_per_photo=3)
    assert {p.name: p.read_bytes() for p in output.iterdir()} == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["db", "photos"]


def test_map_grows_beyond_its_initial_size(photo_dir, tmp_path, monkeypatch):
    monkeypatch.setattr(gen_lmdb, "INITIAL_MAP_SIZE", 64 * 1024)
    output = tmp_path / "db"
    assert run_gen_lmdb(photo_dir, output, crops_per_photo=20, commit_every=7) == 0
    assert json.loads((output / "colornet.json").read_text())["records"] == 100


def _encode_png(array):
    return cv2.imencode(".png", array)[1].tobytes()


@pytest.mark.parametrize("kind", ["grey", "palette", "rgba", "16bit", "cmyk", "grey_alpha"])
def test_unusual_image_kinds_are_converted(kind):
    rng = np.random.default_rng(2)
    rgb = rng.integers(0, 256, size=(6, 7, 3), dtype=np.uint8)
    if kind == "grey":
        payload = _encode_png(rgb[..., 0])
    elif kind == "16bit":
        payload = _encode_png(rgb[..., ::-1].astype(np.uint16) * 257)
    elif kind == "rgba":
        payload = _encode_png(np.dstack([rgb[..., ::-1], np.full((6, 7), 255, np.uint8)]))
    elif kind == "grey_alpha":
        import io
        buffer = io.BytesIO()
        Image.fromarray(np.dstack([rgb[..., 0], np.full((6, 7), 255, np.uint8)]), "LA").save(buffer, "PNG")
        payload = buffer.getvalue()
    else:
        import io
        buffer = io.BytesIO()
        image = Image.fromarray(rgb)
        if kind == "palette":
            image.convert("P").save(buffer, "PNG")
        else:
            image.convert("CMYK").save(buffer, "JPEG", quality=100)
        payload = buffer.getvalue()
    bgr = decode_bgr(payload, kind)
    assert bgr.dtype == np.uint8 and bgr.shape == (6, 7, 3)
    if kind in ("16bit", "rgba"):
        np.testing.assert_array_equal(bgr, rgb[..., ::-1])
    if kind in ("grey", "grey_alpha"):
        np.testing.assert_array_equal(bgr[..., 0], rgb[..., 0])
    if kind == "cmyk":
        assert np.abs(bgr.astype(int) - rgb[..., ::-1]).mean() < 12


def test_unreadable_files_name_the_file_and_reason(tmp_path):
    empty = tmp_path / "empty.png"
    empty.write_bytes(b"")
    with pytest.raises(UnreadableImage, match="empty.png: empty file"):
        read_bgr(empty)
    with pytest.raises(UnreadableImage, match="missing.png: cannot read"):
        read_bgr(tmp_path / "missing.png")
    truncated = tmp_path / "cut.png"
    truncated.write_bytes(_encode_png(np.zeros((20, 20, 3), np.uint8))[:40])
    with pytest.raises(UnreadableImage, match="cut.png: not an image"):
        read_bgr(truncated)


def test_records_are_shuffled_across_photos_by_seed(tmp_path):
    """Caffe reads an LMDB in key order without shuffling: consecutive records must come from
    different photos, in an order fixed by the seed."""
    import lmdb
    from caffe.proto import caffe_pb2
    folder = tmp_path / "photos"
    folder.mkdir()
    levels = [30, 90, 150, 210]  # each photo one flat grey: a record's Y names its photo
    for level in levels:
        cv2.imwrite(str(folder / f"grey{level}.png"), np.full((48, 48, 3), level, np.uint8))

    def photo_order(seed):
        output = tmp_path / f"lmdb_{seed}"
        assert run_gen_lmdb(folder, output, crops_per_photo=4, seed=seed, force=True) == 0
        order = []
        with lmdb.open(str(output), readonly=True, lock=False) as env, env.begin() as txn:
            for _, value in txn.cursor():
                datum = caffe_pb2.Datum()
                datum.ParseFromString(value)
                order.append(levels.index(int(np.frombuffer(datum.data, np.uint8)[0])))
        return order

    order = photo_order(0)
    assert sorted(order) == sorted([0, 1, 2, 3] * 4)
    runs_of_one_photo = sum(a == b for a, b in zip(order, order[1:]))
    assert runs_of_one_photo <= 6, order  # in input order it would be 12
    assert photo_order(0) == order
    assert photo_order(1) != order


def test_inspect_lmdb_writes_the_class_prior_the_yuv64_nets_rebalance_with(tmp_path, tiny_lmdb):
    from colornet.data import inspect as inspect_lmdb
    from colornet.data.inspect import read_records
    prior_path = tmp_path / "prior.npy"
    inspect_lmdb.inspect_records(tiny_lmdb, prior_path=prior_path)
    prior = np.load(prior_path)
    counts = sum(np.bincount(record[1].ravel(), minlength=64) for _, record in read_records(tiny_lmdb))
    counts[36] = 0
    np.testing.assert_allclose(prior, counts / counts.sum())
    assert prior[36] == 0 and prior.sum() == pytest.approx(1.0)


def test_whole_photo_scales_keep_aspect_and_feed_caffe_random_crops(caffe, write_net, photo_dir, tmp_path):
    """--scales: each photo whole at each short side (aspect kept up to 2:1), records of different
    sizes in one LMDB, which Caffe's Data layer crops and mirrors anew on every pass."""
    output = tmp_path / "scales_lmdb"
    assert run_gen_lmdb(photo_dir, output, scales=(16, 24)) == 0
    sidecar = json.loads((output / "colornet.json").read_text())
    assert sidecar["records"] == 10 and sidecar["resize"] == "whole-at-scales" and sidecar["skipped"] == 2
    samples = photo_samples(photo_dir / "photo3.png", 3, SIZE, "stretch", 0, 0, scales=(16, 24))
    # photo3 is 33×80: cropped to 33×66 (2:1), then 16×32 and 24×48.
    assert [sample.shape[:2] for sample in samples] == [(16, 32), (24, 48)]
    samples = photo_samples(photo_dir / "photo1.png", 1, SIZE, "stretch", 0, 0, scales=(16, 24))
    assert [sample.shape[:2] for sample in samples] == [(21, 16), (32, 24)]  # 64×48 portrait
    prototxt = write_net(f"""
layer {{ name: "data" type: "Data" top: "data" include {{ phase: TRAIN }}
  transform_param {{ crop_size: 12 mirror: true }}
  data_param {{ source: "{output}" backend: LMDB batch_size: 10 }} }}
layer {{ name: "slice" type: "Slice" bottom: "data" top: "data_y" top: "label_uv"
  slice_param {{ axis: 1 slice_point: 1 }} }}
""")
    net = caffe.Net(prototxt, caffe.TRAIN)
    batches = []
    for _ in range(3):
        net.forward()
        batches.append(net.blobs["data"].data.copy())
    assert batches[0].shape == (10, 2, 12, 12)
    labels = np.concatenate([batch[:, 1] for batch in batches])
    assert set(np.unique(labels)) <= set(range(64))  # crops of the class channel stay classes
    # Same records every pass (10 a pass), different windows: the Data layer's random crop.
    assert not np.array_equal(batches[0], batches[1])


def test_scales_and_crops_exclude_each_other_and_hdf5_refuses_scales(photo_dir, tmp_path):
    assert run_gen_lmdb(photo_dir, tmp_path / "both", scales=(16,), crops_per_photo=2) == 1
    assert not (tmp_path / "both").exists()
    with pytest.raises(ValueError, match="HDF5Data"):
        gen_lmdb.write_records(gen_hdf5.build, gen_lmdb.RecordOptions([photo_dir], tmp_path / "h5", size=SIZE,
                                                                     scales=(16,), quiet=True))
    assert run_tool("gen_lmdb.py", str(photo_dir), "-o", str(tmp_path / "bad"), "--scales", "16,x").returncode == 2
