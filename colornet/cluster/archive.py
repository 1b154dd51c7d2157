"""Colouring an archive on Ray: the same photos, settings and output names as the plain command
line, on actors that each load the model once, resumable from the outputs already written.

The driver lists the inputs (paths only: no image is decoded on it), names every output exactly
as colorize.files does, skips those already written (outputs are written beside their name and
renamed, so one that exists is complete), and hands the rest to the actors in chunks. Each actor
reads, colours and writes its chunk's photos through colorize.files, so results are byte for byte
the command line's. Every outcome is appended to OUT/manifest.csv as it arrives (a killed driver
keeps what was recorded), and the manifest is rewritten whole, one row per input, at the end.
An actor that dies loses at most its chunk in flight: those photos are recorded as lost, and a
rerun colours them.
"""
import csv
import dataclasses
import logging
import os
import pathlib
import time

from colornet.cluster.engine import start_ray, stop_ray
from colornet.colorize.files import OutputSettings, output_path

log = logging.getLogger("cluster")
MANIFEST_FIELDS = ["input", "output", "status", "error", "by"]
CHUNK = 8  # photos per actor call: the batch the net takes them in
# Chunks queued on each actor: an actor runs its calls one after another, so with a second one
# waiting it starts on it at once instead of idling while its result travels to the driver and
# the next chunk comes back (a death then loses both, still only photos in flight).
IN_FLIGHT_PER_ACTOR = 2


def chunk_sizes(count, workers, largest=CHUNK):
    """Sizes of the successive chunks of `count` photos: CHUNK while there is plenty left, then
    smaller (a share of what remains per queue slot), so that the actors finish together: with
    whole chunks to the end, one actor could still hold two queued chunks (16 photos, about 1.7 s
    at one actor's rate) while the others had nothing left to do."""
    sizes, remaining, slots = [], count, 2 * workers * IN_FLIGHT_PER_ACTOR
    while remaining:
        size = max(1, min(largest, -(-remaining // slots)))
        sizes.append(size)
        remaining -= size
    return sizes


@dataclasses.dataclass
class ColorizerSettings:
    """What every actor builds its colorizer from: the model, its backend and the colouring
    settings (colorize.settings.Settings), as the command line's options of these names give them."""
    model: str = None
    weights: str = None
    backend: str = None
    settings: object = None


def plan(paths, output, image_format):
    """[(input, output)] in the command line's order and naming, and those already written."""
    taken, jobs, done = set(), [], []
    for path in paths:
        target = output_path(path, output, f".{image_format}", taken)
        (done if target.is_file() else jobs).append((str(path), str(target)))
    return jobs, done


def build_colorizer(settings):
    """An actor's colorizer, of these ColorizerSettings."""
    from colornet.colorize.pipeline import Colorizer
    from colornet.colorize.models import Model
    return Colorizer(Model.resolve(settings.model, settings.weights), settings.backend, settings.settings)


def colour_chunk(colorizer, chunk, output_settings):
    """In an actor: colour [(input, output)] in one batch through colorize.files;
    → [(input, output, status, error, by)], `by` naming the machine and process that coloured it."""
    from colornet.colorize.files import colorize_photos
    outcomes, names = {}, {source: pathlib.Path(target) for source, target in chunk}
    colorize_photos([source for source, _ in chunk], colorizer, None,
                    dataclasses.replace(output_settings, quiet=True, batch=len(chunk)), [], names, outcomes)
    by = f"{os.uname().nodename}:{os.getpid()}"
    return [(source, target, "failed" if outcomes.get(source, "not coloured") else "done",
             outcomes.get(source, "not coloured") or "", by) for source, target in chunk]


def make_actor_class(ray):
    @ray.remote
    class ColorizeActor:
        """One loaded model, reused for every chunk this actor is given."""

        def __init__(self, settings, output_settings):
            os.environ.setdefault("GLOG_minloglevel", "2")
            # OpenCV's thread pool is left at every core (its pthreads backend ignores the
            # OMP_NUM_THREADS Ray sets): limited to the actor's one CPU, 2 actors on 2 cores fell
            # from 88 % to 78 % of the command line's rate (bench_cluster), the cores idling while
            # each actor read, encoded and wrote single-threaded.
            self.colorizer = build_colorizer(settings)
            self.output_settings = output_settings

        def colour(self, chunk):
            return colour_chunk(self.colorizer, chunk, self.output_settings)

        def scan(self, source, start, end):
            from colornet.cluster.film import cut_times
            return cut_times(self.colorizer, source, start, end)

        def piece(self, source, target, start, end, video_settings, batch):
            from colornet.cluster.film import colour_piece
            return colour_piece(self.colorizer, source, pathlib.Path(target), start, end, video_settings, batch)

        def pid(self):
            return os.getpid()

        def node(self):
            """The Ray node id of the machine this actor runs on."""
            return ray.get_runtime_context().get_node_id()
    return ColorizeActor


class Manifest:
    """OUT/manifest.csv: rows appended as results arrive; rewritten whole (one row per input, the
    latest outcome) at the end."""

    def __init__(self, output):
        self.path = pathlib.Path(output) / "manifest.csv"
        self.rows = {}
        if self.path.is_file():
            with open(self.path, newline="") as handle:
                for row in csv.DictReader(handle):
                    self.rows[row["input"]] = row
        self.handle = open(self.path, "a", newline="")
        self.writer = csv.DictWriter(self.handle, fieldnames=MANIFEST_FIELDS, restval="")
        if self.handle.tell() == 0:
            self.writer.writeheader()

    def add(self, source, target, status, error="", by=""):
        row = {"input": source, "output": target, "status": status, "error": error, "by": by}
        self.rows[source] = row
        self.writer.writerow(row)
        self.handle.flush()

    def close(self):
        self.handle.close()
        staging = self.path.with_name(f".{self.path.name}.partial")
        with open(staging, "w", newline="") as handle:
            writer = csv.DictWriter(handle, fieldnames=MANIFEST_FIELDS, restval="", extrasaction="ignore")
            writer.writeheader()
            writer.writerows(self.rows.values())
        os.replace(staging, self.path)


def actor_placements(cluster, workers, nodes=()):
    """Where a run's actors go: `workers` on each machine. A local instance is one machine, where
    Ray places them (None); on a cluster, ray.nodes()' live machines with CPUs each get `workers`
    (at most one per CPU: an actor beyond them would wait forever), pinned by node id and
    interleaved, so that the first chunks go to different machines."""
    if cluster == "local":
        return [None] * workers
    per_machine = {node["NodeID"]: min(workers, int(node.get("Resources", {}).get("CPU", 0)))
                   for node in nodes if node.get("Alive")}
    placements = [machine for slot in range(workers) for machine, count in per_machine.items() if slot < count]
    if not placements:
        raise RuntimeError(f"the Ray cluster at {cluster} has no live machine with a CPU for an actor "
                           "(ray status there tells; start one with `ray start --address`)")
    return placements


class ActorPool:
    """The ColorizeActors of one run, one per placement (actor_placements); replace() starts one
    in a dead one's place, on the same machine while it lives (the pin is soft: elsewhere when
    that machine is gone)."""

    def __init__(self, ray, placements, settings, output_settings):
        self.ray, self.arguments = ray, (settings, output_settings)
        self.actor_class = make_actor_class(ray)
        self.placements = list(placements)
        self.actors = [self._new(placement) for placement in self.placements]

    def _new(self, placement):
        if placement is None:
            return self.actor_class.options(num_cpus=1).remote(*self.arguments)
        from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy
        return self.actor_class.options(num_cpus=1, scheduling_strategy=NodeAffinitySchedulingStrategy(
            node_id=placement, soft=True)).remote(*self.arguments)

    def replace(self, dead):
        index = self.actors.index(dead)
        replacement = self._new(self.placements[index])
        self.actors[index] = replacement
        return replacement

    def replace_dead(self):
        """Replace every actor that no longer answers (after a film's actor died)."""
        ray = self.ray
        for actor in list(self.actors):
            try:
                ray.get(actor.pid.remote())
            except (ray.exceptions.RayActorError, ray.exceptions.WorkerCrashedError):
                log.error("an actor died; starting another")
                self.replace(actor)


def colorize_archive(paths, output, settings, output_settings=None, cluster="local", workers=2, progress=True,
                     films=(), video_settings=None):
    """Colour `paths` (photos, already listed) and `films` (videos: cluster/film.py) into `output`
    on Ray; returns the finished Manifest's rows as {status: count}. workers: actors on each
    machine (each with one CPU and one loaded model)."""
    from colornet.colorize.files import VideoSettings
    output_settings, video_settings = output_settings or OutputSettings(), video_settings or VideoSettings()
    output = pathlib.Path(output)
    output.mkdir(parents=True, exist_ok=True)
    jobs, done = plan(paths, output, output_settings.image_format)
    film_jobs, films_done = plan(films, output, video_settings.video_format)
    manifest = Manifest(output)
    for source, target in done + films_done:
        if manifest.rows.get(source, {}).get("status") != "done":
            manifest.add(source, target, "done", "")
    log.info("%d input(s): %d already coloured, %d to do, on %d actor(s) per machine (%s)",
             len(jobs) + len(done) + len(films), len(done) + len(films_done), len(jobs) + len(film_jobs), workers, cluster)
    if not jobs and not film_jobs:
        manifest.close()
        return count_statuses(manifest)
    ray, started_here = start_ray(cluster, workers)
    try:
        placements = actor_placements(cluster, workers, () if cluster == "local" else ray.nodes())
        if cluster != "local":
            log.info("%d actor(s) on %d machine(s)", len(placements), len(set(placements)))
        pool = ActorPool(ray, placements, settings, output_settings)
        if jobs:
            colour_photos(pool, jobs, manifest, progress)
        if film_jobs:
            from colornet.cluster.film import colour_films
            colour_films(ray, pool, film_jobs, video_settings, output_settings.batch, manifest, progress)
    finally:
        manifest.close()
        if started_here:
            stop_ray(ray, cluster)
    return count_statuses(manifest)


def colour_photos(pool, jobs, manifest, progress):
    """Photos [(input, output)] in chunks over the pool's actors, each outcome into the manifest; a
    dead actor's chunk is recorded as lost and a new actor takes its place."""
    from tqdm import tqdm
    chunks, first = [], 0
    for size in chunk_sizes(len(jobs), len(pool.actors)):
        chunks.append(jobs[first:first + size])
        first += size
    pending, started = {}, time.monotonic()
    free = [actor for actor in pool.actors for _ in range(IN_FLIGHT_PER_ACTOR)]
    with tqdm(total=len(jobs), unit="photo", disable=not progress, desc="colorize") as bar:
        while chunks or pending:
            while chunks and free:
                actor, chunk = free.pop(), chunks.pop(0)
                pending[actor.colour.remote(chunk)] = (actor, chunk)
            bar.update(collect_one(pool, pending, chunks, manifest, free))
            bar.set_postfix_str(f"{bar.n / max(time.monotonic() - started, 1e-9):.1f} photos/s")
    log.info("coloured %d photo(s) in %.2f s on the actors: %.2f photos/s once Ray was up", len(jobs),
             time.monotonic() - started, len(jobs) / max(time.monotonic() - started, 1e-9))


def collect_one(pool, pending, chunks, manifest, free):
    """Wait for one chunk's result and record it, its actor's slot back in `free`; an actor that
    died: its chunk recorded as lost, its queued chunk handed back, a replacement's slots in `free`.
    → the photos recorded."""
    ray = pool.ray
    ready, _ = ray.wait(list(pending), num_returns=1)
    actor, chunk = pending.pop(ready[0])
    try:
        for row in ray.get(ready[0]):
            manifest.add(*row)
        free.append(actor)
    except (ray.exceptions.RayActorError, ray.exceptions.WorkerCrashedError) as error:
        for source, target in chunk:
            manifest.add(source, target, "lost", f"the actor died: {type(error).__name__}; rerun to colour it")
        log.error("an actor died with %d photo(s) in flight (rerun to colour them); starting another: %s",
                  len(chunk), str(error).strip().splitlines()[-1][:300])
        for other_future, (other_actor, other_chunk) in list(pending.items()):
            if other_actor is actor:  # its queued chunk fails too: hand it to the new actor
                del pending[other_future]
                chunks.insert(0, other_chunk)
        free[:] = [other for other in free if other is not actor] + [pool.replace(actor)] * IN_FLIGHT_PER_ACTOR
    return len(chunk)


def count_statuses(manifest):
    counts = {}
    for row in manifest.rows.values():
        counts[row["status"]] = counts.get(row["status"], 0) + 1
    return counts
