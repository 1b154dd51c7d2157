"""Archives on Ray (colornet.cluster): a local Ray instance with 2 actors against the plain command
line, reruns, a corrupt file, and an actor killed mid-run."""
import csv
import os
import pathlib
import shutil
import signal
import threading
import time

import cv2
import numpy as np
import pytest

from colornet.cluster.archive import ActorPool, ColorizerSettings, actor_placements, colorize_archive
from colornet.cluster.engine import start_ray, stop_ray
from tests.conftest import run_tool

ray = pytest.importorskip("ray")
pytestmark = pytest.mark.slow  # a Ray instance: 20-30 s a test here
SKIMAGE_DATA = pathlib.Path(__import__("skimage").__file__).parent / "data"


@pytest.fixture(scope="module")
def local_ray():
    """A local instance as --cluster local starts it (engine.start_ray), stopped at the end."""
    started, _ = start_ray("local", 2)
    yield
    stop_ray(started, "local")


def photo_tree(folder, count=6, side=160):
    """Grey photos in a folder with a subfolder, one name twice, and one corrupt file."""
    names = ["astronaut.png", "coffee.png", "chelsea.png", "rocket.jpg", "camera.png", "motorcycle_left.png"]
    (folder / "sub").mkdir(parents=True)
    for number in range(count):
        image = cv2.imread(str(SKIMAGE_DATA / names[number % len(names)]), cv2.IMREAD_GRAYSCALE)
        scale = side / max(image.shape)
        image = cv2.resize(image, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
        where = folder / "sub" if number % 3 == 0 else folder
        cv2.imwrite(str(where / f"photo{number:03d}.jpg"), image)
    shutil.copy(folder / "photo001.jpg", folder / "sub" / "photo001.jpg")  # the same name twice
    (folder / "sub" / "corrupt.jpg").write_bytes(b"\xff\xd8\xff\xe0 not really a JPEG")
    return folder


def pids_whose_command_line(matches):
    """Processes on this machine whose command line (bytes) `matches`, sorted."""
    pids = []
    for cmdline in pathlib.Path("/proc").glob("[0-9]*/cmdline"):
        try:
            if matches(cmdline.read_bytes()):
                pids.append(int(cmdline.parent.name))
        except OSError:
            continue
    return sorted(pids)


def actor_pids():
    """The processes of the colorizing actors (Ray titles them ray::ColorizeActor…)."""
    return pids_whose_command_line(lambda text: text.startswith(b"ray::ColorizeActor"))


def ray_service_pids():
    """Processes of Ray's own services on this machine (raylet, GCS, autoscaler monitor)."""
    services = (b"raylet/raylet", b"gcs/gcs_server", b"autoscaler/_private/monitor.py")
    return set(pids_whose_command_line(lambda text: any(name in text for name in services)))


def test_the_local_instance_runs_without_an_api_server_and_ray_init_is_left_as_it_was(local_ray):
    """The API server (Ray's dashboard head, dashboard/dashboard.py) is skipped only while our
    local instance starts: the instance has its raylet and GCS and none, and Ray's Node class has
    its own start_api_server back for any later ray.init."""
    assert ray_service_pids()
    assert not pids_whose_command_line(lambda text: b"dashboard/dashboard.py" in text)
    assert ray._private.node.Node.start_api_server.__qualname__ == "Node.start_api_server"


def manifest_rows(folder):
    with open(folder / "manifest.csv", newline="") as handle:
        return list(csv.DictReader(handle))


def manifest(folder):
    """{input relative to the photo folder: row}; the file must hold one row per input."""
    rows = manifest_rows(folder)
    inputs = [row["input"] for row in rows]
    assert len(inputs) == len(set(inputs)), "manifest.csv has more than one row for an input"
    return {pathlib.Path(row["input"]).relative_to(folder.parent / "in").as_posix(): row for row in rows}


def test_two_actors_match_the_command_line_and_record_a_corrupt_file(local_ray, tmp_path):
    photos = photo_tree(tmp_path / "in")
    plain = run_tool("use_trained_model", photos, "-o", tmp_path / "plain", "-q", "--backend", "opencv")
    assert plain.returncode == 1  # the corrupt one
    counts = colorize_archive([*sorted(map(str, photos.rglob("*.jpg")))], tmp_path / "ray",
                              ColorizerSettings(backend="opencv"), cluster="local", workers=2, progress=False)
    assert counts == {"done": 7, "failed": 1}
    plain = sorted(p.name for p in (tmp_path / "plain").iterdir())
    assert plain == sorted(p.name for p in (tmp_path / "ray").iterdir() if p.suffix == ".png")
    for name in plain:
        assert (tmp_path / "plain" / name).read_bytes() == (tmp_path / "ray" / name).read_bytes(), name
    rows = manifest(tmp_path / "ray")
    assert rows["sub/corrupt.jpg"]["status"] == "failed" and "not an image" in rows["sub/corrupt.jpg"]["error"]
    # Each photo names the process that coloured it: the first chunks go to both actors at once.
    assert len({row["by"] for row in rows.values()}) == 2


def test_the_command_line_on_ray_then_a_rerun_redoes_exactly_the_deleted_outputs(local_ray, tmp_path):
    photos = photo_tree(tmp_path / "in")
    out = tmp_path / "out"
    services = ray_service_pids()  # this test process's own instance (the fixture's)
    # Started outside the checkout, as a user would: the actors still find the project.
    result = run_tool("use_trained_model", photos, "-o", out, "-q", "--cluster", "local", "--workers", "2",
                      cwd=tmp_path)
    assert result.returncode == 1 and "7 done, 1 failed" in result.stderr, result.stderr
    # The command's own instance is gone with it (its monitor is killed rather than waited for).
    assert ray_service_pids() == services
    kept = {p.name: p.stat().st_mtime_ns for p in out.glob("*.png")}
    deleted = sorted(kept)[:2]
    for name in deleted:
        (out / name).unlink()
    counts = colorize_archive(sorted(map(str, photos.rglob("*.jpg"))), out, ColorizerSettings(), workers=2,
                              progress=False)
    assert counts == {"done": 7, "failed": 1}
    for path in out.glob("*.png"):
        assert (path.stat().st_mtime_ns == kept[path.name]) == (path.name not in deleted), path.name
    assert len(manifest_rows(out)) == 8  # one row per input, the latest outcome


def test_an_actor_killed_mid_run_loses_only_its_photos_and_a_rerun_finishes(local_ray, tmp_path):
    photos = photo_tree(tmp_path / "in", count=60, side=320)
    out = tmp_path / "out"
    paths = sorted(map(str, photos.rglob("*.jpg")))
    finished = {}
    run = threading.Thread(target=lambda: finished.update(counts=colorize_archive(
        paths, out, ColorizerSettings(), workers=2, progress=False)))
    run.start()
    deadline = time.monotonic() + 120
    while len(list(out.glob("*.png"))) < 8 and time.monotonic() < deadline:
        time.sleep(0.05)
    os.kill(actor_pids()[0], signal.SIGKILL)
    run.join(timeout=300)
    first = finished["counts"]
    assert 1 <= first.get("lost", 0) <= 8, first  # the killed actor's chunk, at most
    assert first.get("done", 0) + first["lost"] + first["failed"] == 62
    second = colorize_archive(paths, out, ColorizerSettings(), workers=2, progress=False)
    assert second == {"done": 61, "failed": 1}
    assert len(list(out.glob("*.png"))) == 61


def film_with_cuts(path, size=(320, 240)):
    """4 s at 25 fps with audio: two photos (a cut at 1 s), a pan (a cut at 2 s), a third photo (3 s)."""
    from colornet.benchmark import clips
    first, _ = clips.cut_frames(size, 2)
    pan, _ = clips.pan_frames(size, 1)
    still = cv2.resize(clips.photo("camera.png"), size, interpolation=cv2.INTER_AREA)
    return clips.write_clip(path, first + pan + [still] * 25)


def test_a_film_is_split_at_its_cuts_coloured_on_two_actors_and_joined_without_a_seam(local_ray, tmp_path):
    from colornet.cluster.film import plan_pieces
    from colornet.colorize.files import VideoSettings
    from colornet.colorize.models import Model
    from colornet.colorize.pipeline import Colorizer
    from colornet.colorize.video import colorize_video
    from colornet.colorize.video_source import probe
    from colornet.benchmark import clips
    film = film_with_cuts(tmp_path / "film.mp4")
    assert plan_pieces(4.0, [1.0, 2.0, 3.0], 4) == [(0.0, 1.0), (1.0, 2.0), (2.0, 3.0), (3.0, None)]
    assert plan_pieces(4.0, [], 4) == [(0.0, None)]  # no cut: one piece, one actor
    from colornet.cluster.archive import make_actor_class
    from colornet.colorize.files import OutputSettings
    actor = make_actor_class(ray).options(num_cpus=1).remote(ColorizerSettings(), OutputSettings())
    # The smoother's own cuts, found in stretches: a stretch from 2 s sees the cut at 2 s (it
    # compares the frame before), one up to 2 s does not.
    assert ray.get([actor.scan.remote(str(film), 0.0, None), actor.scan.remote(str(film), 0.0, 2.0),
                    actor.scan.remote(str(film), 2.0, None)]) == [[1.0, 2.0, 3.0], [1.0], [2.0, 3.0]]
    ray.kill(actor)
    out = tmp_path / "out"
    (tmp_path / "broken.mp4").write_bytes(b"\x00\x00\x00\x18ftypmp42 and then nothing")
    counts = colorize_archive([], out, ColorizerSettings(), workers=2, progress=False,
                              films=[str(tmp_path / "broken.mp4"), str(film)], video_settings=VideoSettings())
    assert counts == {"done": 1, "failed": 1}  # a broken film is recorded, the other is coloured
    joined_at = (out / "film.mp4").stat().st_mtime_ns
    assert not list(out.glob(".film-*")) and not list(out.glob(".*partial*"))
    colorize_video(Colorizer(Model.resolve("default")), film, tmp_path / "whole.mp4")
    joined, whole = probe(out / "film.mp4"), probe(tmp_path / "whole.mp4")
    assert (joined["frames"], joined["fps"], joined["width"]) == (whole["frames"], whole["fps"], whole["width"]) == \
        (100, 25.0, 320)
    assert joined["audio"] and joined["duration"] == pytest.approx(4.0, abs=0.06)
    pieces, one = clips.read_frames(out / "film.mp4"), clips.read_frames(tmp_path / "whole.mp4")
    assert len(pieces) == len(one) == 100
    # The same colours as in one process, the encoder's loss apart (each piece's encoder starts
    # afresh: about 1.2 levels of Y apart, as each is from the source), on each side of the joins too.
    for index in range(100):
        piece, whole = (cv2.cvtColor(frame, cv2.COLOR_BGR2YUV).astype(int) for frame in (pieces[index], one[index]))
        assert np.abs(piece[..., 1:] - whole[..., 1:]).mean() < 1.2, index
        assert np.abs(piece[..., 0] - whole[..., 0]).mean() < 2.0, index
    assert np.array_equal(pieces[10], one[10])  # the first piece: the same encoder from the same frame
    again = colorize_archive([], out, ColorizerSettings(), workers=2, progress=False, films=[str(film)])
    assert again["done"] == 1 and (out / "film.mp4").stat().st_mtime_ns == joined_at  # nothing redone


def test_a_dead_actor_is_replaced_for_the_films_that_follow(local_ray, tmp_path):
    from colornet.colorize.files import OutputSettings
    pool = ActorPool(ray, [None, None], ColorizerSettings(), OutputSettings())
    first = ray.get([actor.pid.remote() for actor in pool.actors])
    ray.kill(pool.actors[0])
    # ray.kill takes effect a moment later (a call sent just after it can still be answered); the
    # films find an actor dead by its error, so wait for that error before asking for replacements.
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            ray.get(pool.actors[0].pid.remote(), timeout=60)
            time.sleep(0.1)
        except ray.exceptions.RayActorError:
            break
    pool.replace_dead()
    second = ray.get([actor.pid.remote() for actor in pool.actors], timeout=120)
    assert second[1] == first[1] and second[0] not in first
    # The replacement is a working colorizer, not only a process that answers.
    photos = photo_tree(tmp_path / "in", count=2)
    chunk = [(str(path), str(tmp_path / "out" / f"{index}.png"))
             for index, path in enumerate([photos / "photo001.jpg", photos / "sub" / "photo000.jpg"])]
    (tmp_path / "out").mkdir()
    outcomes = ray.get(pool.actors[0].colour.remote(chunk), timeout=120)
    assert [row[2] for row in outcomes] == ["done", "done"] and all(row[4].endswith(f":{second[0]}")
                                                                     for row in outcomes)
    assert all(pathlib.Path(target).is_file() for _, target in chunk)
    for actor in pool.actors:
        ray.kill(actor)


def test_chunks_shrink_towards_the_end_so_that_the_actors_finish_together():
    from colornet.cluster.archive import CHUNK, IN_FLIGHT_PER_ACTOR, chunk_sizes
    sizes = chunk_sizes(200, 2)
    assert sum(sizes) == 200 and max(sizes) == CHUNK and sizes == sorted(sizes, reverse=True)
    # What is still queued when the list runs out is at most one photo per queue slot.
    assert sizes[-2 * IN_FLIGHT_PER_ACTOR:] == [1] * (2 * IN_FLIGHT_PER_ACTOR)
    assert chunk_sizes(3, 4) == [1, 1, 1] and chunk_sizes(0, 2) == []
    assert sum(chunk_sizes(10 ** 6, 16)) == 10 ** 6


def test_workers_are_per_machine_at_most_its_cpus_and_pinned_there(local_ray):
    """--workers N on a cluster: N actors on every live machine with CPUs (fewer where it has fewer
    CPUs, none on a dead one or one without CPUs), interleaved; a local instance leaves the
    placement to Ray. Then real actors pinned by the plan run on the machine it names."""
    nodes = [{"NodeID": "a", "Alive": True, "Resources": {"CPU": 16.0}},
             {"NodeID": "b", "Alive": True, "Resources": {"CPU": 1.0}},
             {"NodeID": "c", "Alive": False, "Resources": {"CPU": 8.0}},
             {"NodeID": "head", "Alive": True, "Resources": {"memory": 1e9}}]
    assert actor_placements("auto", 3, nodes) == ["a", "b", "a", "a"]
    assert actor_placements("local", 3) == [None, None, None]
    with pytest.raises(RuntimeError, match="no live machine with a CPU"):
        actor_placements("ray://host:10001", 2, nodes[2:])
    from colornet.colorize.files import OutputSettings
    placements = actor_placements("auto", 4, ray.nodes())  # this instance: one machine, 2 CPUs
    here = ray.get_runtime_context().get_node_id()
    assert placements == [here, here]
    pool = ActorPool(ray, placements, ColorizerSettings(), OutputSettings())
    try:
        assert len(set(ray.get([actor.pid.remote() for actor in pool.actors]))) == 2
        assert ray.get([actor.node.remote() for actor in pool.actors]) == [here, here]
    finally:
        for actor in pool.actors:
            ray.kill(actor)
