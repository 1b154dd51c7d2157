"""Films on Ray: a long video split at its scene cuts, the pieces coloured on several actors, and
joined into one file with the source's audio.

Why at cuts: the colour smoother (colorize/temporal.py) starts afresh at a cut, so a piece that
begins on a cut frame is coloured exactly as the whole film coloured in one process would colour
those frames: the join shows no seam in the colour, only the encoder's own restart. Three steps:

1. scan: the actors find the cuts in equal stretches of the film (in parallel), as the smoother
   finds them (the same small luminance, the same test);
2. plan: pieces about duration / (2 × actors) long, each starting on a cut (a film without cuts
   stays one piece: it is coloured by one actor);
3. colour each piece with colorize/video.py's colorize_video (the command line's path) into
   OUT/.film-NAME/, then join the pieces' video packets (no re-encoding) and copy the source's
   audio into the output, written beside its name and renamed.

The plan and every finished piece stay in OUT/.film-NAME/ until the join: a rerun after a crash
colours only the pieces missing.
"""
import dataclasses
import json
import logging
import os
import pathlib

log = logging.getLogger("cluster")
PIECES_PER_ACTOR = 2  # so that a piece longer than the rest does not leave the other actors idle


def cut_times(colorizer, source, start, end):
    """In an actor: the times (s) of the frames in [start, end) where the smoother would find a
    scene cut (the frame before `start` is compared too). end None: to the film's end."""
    import av
    from colornet.colorize.pipeline import luminance
    from colornet.colorize.temporal import is_cut, luminance_histogram
    from colornet.colorize.video_frames import small_luminance
    cuts, previous, chroma_side = [], None, None
    with av.open(str(source)) as reader:
        video = reader.streams.video[0]
        # From a keyframe at least a second before: the frame just before `start` is needed.
        reader.seek(max(0, int((start - 1.0) / video.time_base)), stream=video, backward=True)
        for frame in reader.decode(video):
            if frame.pts is None:
                continue
            time = float(frame.pts * video.time_base)
            if end is not None and time >= end - 1e-6:
                break
            batch = colorizer.net_batch([luminance(frame.to_ndarray(format="bgr24"), colorizer.model.family)])
            if chroma_side is None:  # the side the smoother sees: the net's output, once
                chroma_side = colorizer.chroma_of(batch).shape[-1]
            histogram = luminance_histogram(small_luminance(batch[0, 0], chroma_side, colorizer.model.family))
            if time >= start - 1e-6 and is_cut(previous, histogram):
                cuts.append(time)
            previous = histogram
    return cuts


def plan_pieces(duration, cuts, pieces):
    """[(start, end)] covering the film, each starting at 0 or on a cut, about duration / pieces
    long; the last ends at None (the film's end, whatever its header says)."""
    target = duration / max(pieces, 1)
    starts = [0.0]
    for time in sorted(cuts):
        if time - starts[-1] >= target and duration - time >= 0.5 * target:
            starts.append(time)
    return [(begin, finish) for begin, finish in zip(starts, starts[1:] + [None])]


def colour_piece(colorizer, source, target, start, end, video_settings, batch):
    """In an actor: one piece through the command line's video path (its own file, renamed when
    complete). Returns frames written."""
    from colornet.colorize.video import colorize_video
    written, _ = colorize_video(colorizer, source, target, video_settings.video_format, video_settings.smoothing,
                                video_settings.motion, start, None if end is None else end - start, batch)
    return written


def join_pieces(source, pieces, target, video_format):
    """The pieces' video packets one after another (each shifted to its start), and the source's
    audio, into target (written beside it, renamed). Returns the number of video packets."""
    import av
    from colornet.colorize.video_writer import CONTAINERS, audio_stream, copy_audio
    _, _, audio_ok, audio_fallback = CONTAINERS[video_format]
    staging = target.with_name(f".{target.name}.partial-{os.getpid()}")
    packets = 0
    try:
        with av.open(str(pieces[0][0])) as first, av.open(str(source)) as original, \
                av.open(str(staging), "w", format=video_format) as writer:
            out_video = writer.add_stream_from_template(first.streams.video[0])
            audio = original.streams.audio[0] if original.streams.audio else None
            out_audio = audio_stream(writer, audio, audio_ok, audio_fallback)
            for path, start in pieces:
                with av.open(str(path)) as piece:
                    stream = piece.streams.video[0]
                    shift = round(start / stream.time_base)
                    for packet in piece.demux(stream):
                        if packet.dts is None:  # the demuxer's end-of-stream marker
                            continue
                        packet.pts, packet.dts = packet.pts + shift, packet.dts + shift
                        packet.stream = out_video
                        writer.mux(packet)
                        packets += 1
            if audio is not None and out_audio is not None:
                for packet in original.demux(audio):
                    if packet.dts is not None:
                        copy_audio(packet, writer, out_audio, audio, 0.0, None)
                if out_audio[1]:
                    writer.mux(out_audio[0].encode(None))
        os.replace(staging, target)
    finally:
        if staging.exists():
            staging.unlink()
    return packets


@dataclasses.dataclass
class Film:
    """One film's work folder: OUT/.film-NAME/ with plan.json and piece_NNNN files."""
    source: str
    target: pathlib.Path

    @property
    def folder(self):
        return self.target.with_name(f".film-{self.target.name}")

    def piece_path(self, number):
        return self.folder / f"piece_{number:04d}{self.target.suffix}"

    def load_plan(self):
        path = self.folder / "plan.json"
        return [tuple(piece) for piece in json.loads(path.read_text())] if path.is_file() else None

    def save_plan(self, pieces):
        self.folder.mkdir(parents=True, exist_ok=True)
        staging = self.folder / ".plan.json.partial"
        staging.write_text(json.dumps(pieces))
        os.replace(staging, self.folder / "plan.json")


def colour_films(ray, pool, films, video_settings, batch, manifest, progress=True):
    """Colour [(source, target)] films on the actors of `pool` (cluster.archive.ActorPool); every
    outcome into the manifest. Returns nothing; a film that fails is recorded and the others go on
    (after an actor died, on a replacement)."""
    import shutil
    from tqdm import tqdm
    from colornet.colorize.video_source import probe
    for source, target in films:
        film = Film(source, pathlib.Path(target))
        actors = pool.actors
        try:
            pieces = film.load_plan()
            if pieces is None:
                info = probe(source)
                if info is None or not info.get("duration"):
                    raise ValueError(f"{source}: not a readable video, or its length is not known")
                stretch = info["duration"] / len(actors)
                bounds = [(number * stretch, None if number == len(actors) - 1 else (number + 1) * stretch)
                          for number in range(len(actors))]
                found = ray.get([actor.scan.remote(source, begin, finish)
                                 for actor, (begin, finish) in zip(actors, bounds)])
                cuts = sorted(time for times in found for time in times)
                pieces = plan_pieces(info["duration"], cuts, PIECES_PER_ACTOR * len(actors))
                film.save_plan(pieces)
                log.info("%s: %d scene cut(s), coloured in %d piece(s)", source, len(cuts), len(pieces))
            todo = [number for number in range(len(pieces)) if not film.piece_path(number).is_file()]
            if len(todo) < len(pieces):
                log.info("%s: %d of %d piece(s) already coloured (%s)", source, len(pieces) - len(todo), len(pieces),
                         film.folder)
            futures = [actors[index % len(actors)].piece.remote(source, str(film.piece_path(number)), *pieces[number],
                                                               video_settings, batch)
                       for index, number in enumerate(todo)]
            with tqdm(total=len(pieces), initial=len(pieces) - len(todo), unit="piece", disable=not progress,
                      desc=pathlib.Path(source).name[:30]) as bar:
                while futures:
                    ready, futures = ray.wait(futures, num_returns=1)
                    ray.get(ready[0])
                    bar.update()
            join_pieces(source, [(film.piece_path(number), begin) for number, (begin, _) in enumerate(pieces)],
                        film.target, video_settings.video_format)
            shutil.rmtree(film.folder, ignore_errors=True)
            manifest.add(source, target, "done", "")
        except (ray.exceptions.RayActorError, ray.exceptions.WorkerCrashedError) as error:
            manifest.add(source, target, "lost", f"an actor died: {type(error).__name__}; rerun to finish it "
                                                 "(its finished pieces are kept)")
            pool.replace_dead()
        except (ray.exceptions.RayTaskError, ValueError, OSError) as error:
            reason = str(getattr(error, "cause", None) or error).splitlines()[0]
            reason = reason if reason.startswith(str(source)) else f"{source}: {reason}"
            log.error("%s", reason)
            manifest.add(source, target, "failed", reason)
