"""Video: flicker, colour and speed, on clips made from real photos (colornet/benchmark/clips.py).

Quality, at 320×240, clips of --seconds at 25 fps, for each temporal smoothing setting: flicker on
the static shot (mean |Δab| between frames where the true content does not change,
tools/temporal.flicker), the rebalanced AuC against the true colour clip pooled over all frames of
each clip, and how many frames after the cut the colour takes to reach the new scene's. Speed:
frames/s of the whole video path (decode, net, smoothing, upsampling, encode) at 640×480 and
1280×720, beside the same frames colorized as stills in batches of 8. Memory: resident MB over a
30-second clip at 640×480. Results go to bench/RESULTS.md.

    python bench/bench_video.py [--seconds 3] [--rounds 5]
"""
import argparse
import logging
import pathlib
import statistics
import sys
import tempfile
import time


import cv2
import numpy as np

from colornet.benchmark.results import publish
from colornet.colour import lab313
from colornet.benchmark import clips
from colornet.colorize.pipeline import Colorizer
from colornet.colorize.models import Model
from colornet.evaluate.scoring import ErrorHistogram
from colornet.colorize.temporal import flicker
from colornet.colorize.video import colorize_video
from colornet.colorize.video_writer import ENCODER_OPTIONS

log = logging.getLogger("bench_video")
SETTINGS = {"frame by frame": (0.0, False), "EMA 0.8": (0.8, False), "EMA 0.8 + flow": (0.8, True),
            "EMA 0.9 + flow": (0.9, True)}


def rebalanced_auc(truths, outputs):
    encoder = lab313.SoftEncoder(lab313.load_centres(), k=1)
    histogram = ErrorHistogram(encoder)
    for truth, output in zip(truths, outputs):
        true_ab = lab313.bgr_to_lab(truth.transpose(2, 0, 1)[None])[0, 1:].transpose(1, 2, 0).reshape(-1, 2)
        out_ab = lab313.bgr_to_lab(output.transpose(2, 0, 1)[None])[0, 1:].transpose(1, 2, 0).reshape(-1, 2)
        histogram.add(encoder.nearest(true_ab)[0][:, 0], np.linalg.norm(out_ab - true_ab, axis=1))
    return histogram.auc()[1]


def frames_to_switch(smoothed, frame_by_frame, cut_at, tolerance=1.5):
    """Frames after the cut until the smoothed colour is within tolerance of frame-by-frame's."""
    for offset in range(len(smoothed) - cut_at):
        a = cv2.cvtColor(smoothed[cut_at + offset], cv2.COLOR_BGR2LAB)[..., 1:].astype(float)
        b = cv2.cvtColor(frame_by_frame[cut_at + offset], cv2.COLOR_BGR2LAB)[..., 1:].astype(float)
        if np.abs(a - b).mean() < tolerance:
            return offset
    return None


def quality(colorizer, folder, seconds):
    size = (320, 240)
    pan, _ = clips.pan_frames(size, seconds)
    cut, cut_at = clips.cut_frames(size, seconds)
    still, masks = clips.static_frames(size, seconds)
    sources = {}
    for name, frames in (("pan", pan), ("cut", cut), ("still", still)):
        sources[name] = clips.write_clip(folder / f"{name}.mp4", frames, audio=False)
    truths = {name: clips.read_frames(path) for name, path in sources.items()}
    rows, outputs = [], {}
    for label, (strength, motion) in SETTINGS.items():
        row = {"setting": label}
        for name, path in sources.items():
            target = folder / f"{name}-{strength}-{motion}.mp4"
            colorize_video(colorizer, path, target, smoothing=strength, motion=motion)
            outputs[(label, name)] = clips.read_frames(target)
            greyed = [cv2.cvtColor(cv2.cvtColor(f, cv2.COLOR_BGR2GRAY), cv2.COLOR_GRAY2BGR) for f in truths[name]]
            row[f"auc {name}"] = rebalanced_auc(truths[name], outputs[(label, name)])
            row[f"grey {name}"] = rebalanced_auc(truths[name], greyed)
        row["flicker"] = flicker(outputs[(label, "still")], masks)
        row["switch"] = frames_to_switch(outputs[(label, "cut")], outputs[("frame by frame", "cut")], cut_at)
        rows.append(row)
        log.info("%s", row)
    return rows, outputs, truths


def strip(truth, colour, count=6):
    """count frames spread over the clip: greyed above, colorized below."""
    picks = np.linspace(0, len(colour) - 1, count).round().astype(int)
    grey = [cv2.cvtColor(cv2.cvtColor(truth[i], cv2.COLOR_BGR2GRAY), cv2.COLOR_GRAY2BGR) for i in picks]
    gap = np.full((truth[0].shape[0], 4, 3), 255, np.uint8)

    def row(images):
        return np.hstack([part for image in images for part in (image, gap)][:-1])
    top, bottom = row(grey), row([colour[i] for i in picks])
    return np.vstack([top, np.full((4, top.shape[1], 3), 255, np.uint8), bottom])


def speed(colorizer, folder, seconds, rounds=3):
    """Per frame size: frames/s of stills in batches of 8, of video (the net in this process, the
    default) and of video with the net in a process of its own, `rounds` rounds of the three side
    by side; medians of the rates and of each round's video ÷ stills (this machine is shared: a
    round's rates move together, so the ratio is taken within a round)."""
    rows = []
    for size in ((640, 480), (1280, 720)):
        frames, _ = clips.pan_frames(size, seconds)
        path = clips.write_clip(folder / f"speed{size[0]}.mp4", frames)
        decoded = clips.read_frames(path)
        colorizer.colorize(decoded[:8])  # warm-up
        rates = {"stills": [], "video": []}
        for _ in range(rounds):
            started = time.perf_counter()
            for first in range(0, len(decoded), 8):
                colorizer.colorize(decoded[first:first + 8])
            rates["stills"].append(len(decoded) / (time.perf_counter() - started))
            started = time.perf_counter()
            written, _ = colorize_video(colorizer, path, folder / f"speed{size[0]}-out.mp4")
            rates["video"].append(written / (time.perf_counter() - started))
        row = {"size": size, "rounds": rounds, "stills": statistics.median(rates["stills"]),
               "video": statistics.median(rates["video"]),
               "video ratios": [video / stills for video, stills in zip(rates["video"], rates["stills"])]}
        row["video ratio"] = statistics.median(row["video ratios"])
        rows.append(row)
        log.info("%s: stills %.2f frames/s, video %.2f (%.0f %%; rounds %s)", size, row["stills"], row["video"],
                 100 * row["video ratio"], ", ".join(f"{r:.0%}" for r in row["video ratios"]))
    return rows


def memory(colorizer, folder, seconds=30, size=(640, 480)):
    """Resident MB of this process at the end of the first 5 s of frames and the peak over a
    `seconds`-long clip (the pan looped), colorized in one run."""
    pan, _ = clips.pan_frames(size, 2)
    loops = max(1, round(seconds / 2))
    path = clips.write_clip(folder / "long.mp4", pan * loops, audio=False)
    trace = clips.MemoryTrace()
    written, _ = colorize_video(colorizer, path, folder / "long-out.mp4", progress=trace)
    early, peak = trace.peak(5 * clips.FPS), trace.peak()
    log.info("memory over %d frames at %s: %.0f MB after 5 s, peak %.0f MB", written, size, early, peak)
    return {"frames": written, "size": size, "early": early, "peak": peak}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=3.0, help="clip length (default 3)")
    parser.add_argument("--rounds", type=int, default=5, help="speed rounds of stills and video (default 5)")
    parser.add_argument("--no-write", action="store_true", help="print, leave bench/RESULTS.md alone")
    parser.add_argument("--strip", type=pathlib.Path, help="also write 6 frames of the pan clip, grey above, colour below")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(name)s: %(message)s")
    colorizer = Colorizer(Model.resolve("default"))
    with tempfile.TemporaryDirectory() as folder:
        folder = pathlib.Path(folder)
        rows, outputs, truths = quality(colorizer, folder, args.seconds)
        if args.strip:
            picture = strip(truths["pan"], outputs[("EMA 0.8 + flow", "pan")])
            cv2.imwrite(str(args.strip), picture, [cv2.IMWRITE_JPEG_QUALITY, 88])
        speeds = speed(colorizer, folder, args.seconds, args.rounds)
        resident = memory(colorizer, folder)
    base = rows[0]["flicker"]
    lines = [f"Clips of {args.seconds:g} s at 25 fps made from scikit-image photos (colornet/benchmark/clips.py), the still shot "
             "with film grain and exposure flicker; the default model, guided upsampling. Flicker: mean |Δab| between "
             "consecutive frames where the true content is still, at the first frame's luminance. AuC: rebalanced, "
             "pooled over every frame of the clip against the true colour clip (grey's beside it). Switch: frames "
             "after the cut until the colour is within 1.5 ab of frame-by-frame's.", "",
             "| smoothing | flicker (÷ frame by frame) | AuC pan | AuC cut | AuC still | switch after cut |",
             "|---|---|---|---|---|---|"]
    for row in rows:
        lines.append(f"| {row['setting']} | {row['flicker']:.3f} ({row['flicker'] / base:.0%}) | {row['auc pan']:.2f} | "
                     f"{row['auc cut']:.2f} | {row['auc still']:.2f} | {row['switch']} frames |")
    lines.append(f"| grey | | {rows[0]['grey pan']:.2f} | {rows[0]['grey cut']:.2f} | {rows[0]['grey still']:.2f} | |")
    lines += ["", f"Speed: the pan clip, stills in batches of 8 against the whole video path (decode … encode), "
              f"{speeds[0]['rounds']} rounds of the two side by side, medians (a round's rates move together on "
              "this shared machine, so video ÷ stills is taken within each round). Encoder: "
              + ", ".join(f"{key} {value}" for key, value in ENCODER_OPTIONS["libx264"].items())
              + " (colornet/colorize/video.py).", "",
              "| frames | stills, frames/s | video, frames/s | video ÷ stills (each round) |",
              "|---|---|---|---|"]
    for row in speeds:
        width, height = row["size"]
        lines.append(f"| {width}×{height} | {row['stills']:.2f} | {row['video']:.2f} | **{row['video ratio']:.0%}** "
                     f"({', '.join(f'{r:.0%}' for r in row['video ratios'])}) |")
    width, height = resident["size"]
    lines += ["", f"Memory: {resident['frames']} frames ({resident['frames'] / clips.FPS:.0f} s) at {width}×{height} in one "
              f"run, resident memory of the process: {resident['early']:.0f} MB at most over the first 5 s, "
              f"{resident['peak']:.0f} MB at most over the whole clip (+{resident['peak'] - resident['early']:.0f} MB; "
              "frames are streamed in batches of 8)."]
    publish("bench_video: flicker, colour and speed", "\n".join(lines), args.no_write)
    return 0


if __name__ == "__main__":
    sys.exit(main())
