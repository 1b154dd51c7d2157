"""The GPU check, in one prepared run (bench/gpu_check.sh is the entry point; see its --help).

Steps, each recorded in OUT/gpu_check.json and OUT/gpu_check.md:
1. the device: `caffe device_query -gpu 0` and nvidia-smi (name, driver, memory);
2. speed: `caffe time` for every full-size train_val net (lite ones with --cpu);
3. agreement: one forward of deploy_color and deploy_lab313 with the same weights in GPU and CPU
   mode, max relative difference (with --cpu, CPU against CPU: it checks the machinery only);
4. training: the default model's recipe (the lite color net's plain stage, then its rebalanced
   stage) on the carried train photos, iterations scaled to the minutes left after measuring
   it/s, snapshots every minute; the final weights and the logs are copied to OUT.

Only the caffe command line is used (no pycaffe), so any Python 3 with numpy and OpenCV runs it;
building the LMDB needs the lmdb package, carried as a wheel (--prepare fetches it).
"""
import argparse
import json
import logging
import os
import pathlib
import platform
import re
import shutil
import subprocess
import sys
import time

from gpu_agreement import agreement  # bench/: the steps split out of this file
from gpu_prepare import BUNDLE_ARCHIVE, prepare

REPO_ROOT = pathlib.Path(__file__).resolve().parents[1]
log = logging.getLogger("gpu_check")
FULL_NETS = ("color", "fcn", "lab313", "lab313_stock")
TRAIN_RECORD_SIDE = 224  # as `make lmdb` (SIZE) builds them for the lite color net
ORIGINAL_ITERATIONS_PER_S = 0.66  # the original color net on its GPU (shared/spec)
# The CPU recipe's shape: 2,500 plain + 500 rebalanced iterations, lr ×0.3 every 1,000.
STAGE_SHARES = (2500 / 3000, 500 / 3000)
STEP_FRACTION = 1000 / 2500


class CheckError(RuntimeError):
    """A step that cannot go on; the message says what is missing."""


class Caffe:
    """The caffe command with its environment; every call logged and time-limited."""

    def __init__(self, command, environment, gpu):
        self.command, self.environment, self.gpu = command, environment, gpu

    def run(self, *arguments, timeout=300, gpu=None, log_file=None):
        gpu = self.gpu if gpu is None else gpu
        full = [*self.command, *arguments] + (["-gpu", "0"] if gpu else [])
        started = time.monotonic()
        try:
            result = subprocess.run(full, capture_output=True, text=True, timeout=timeout, env=self.environment,
                                    cwd=REPO_ROOT)
            output, code = result.stdout + result.stderr, result.returncode
        except subprocess.TimeoutExpired as expired:
            output = (expired.stdout or b"").decode(errors="replace") + (expired.stderr or b"").decode(errors="replace")
            code = "timeout"
        if log_file:
            pathlib.Path(log_file).write_text(output)
        return code, output, time.monotonic() - started


def unpacked_bundle(bundle, work):
    """The bundle folder: as given, or unpacked from BUNDLE_ARCHIVE beside it (what --prepare makes)."""
    archive = pathlib.Path(bundle).parent / BUNDLE_ARCHIVE
    if (pathlib.Path(bundle) / "bin" / "caffe").is_file() or not archive.is_file():
        return bundle
    import tarfile  # Python's own xz: the GPU machine need not have the xz command
    with tarfile.open(archive) as packed:
        packed.extractall(work, filter="tar")
    return work / "gpu-bundle"


def caffe_environment(bundle, gpu):
    """PATH/LD_LIBRARY_PATH for the bundle's caffe: the machine's own CUDA libraries first (CUDA
    toolkit folders, then the nvidia/*/lib folders of CUDA wheels in any Python), then the
    bundle's. PYTHONPATH has the checkout, for nets with Python layers."""
    environment = {**os.environ, "GLOG_logtostderr": "1", "GLOG_minloglevel": "0",
                   "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO_ROOT), os.environ.get("PYTHONPATH")]))}
    if not gpu:
        return ["caffe"], environment
    caffe = pathlib.Path(bundle) / "bin" / "caffe"
    if not caffe.is_file():
        raise CheckError(f"{caffe}: no GPU bundle there (make it with `make setup GPU=1 && make gpu-bundle`, "
                         "carry it, and pass --bundle)")
    folders = sorted(str(p) for p in pathlib.Path("/usr/local").glob("cuda*/lib64"))
    folders += sorted(str(p) for p in pathlib.Path("/usr/local/cuda/targets").glob("*/lib"))
    for prefix in {sys.prefix, "/usr", "/usr/local", "/opt"}:
        folders += sorted(str(p) for p in pathlib.Path(prefix).glob("**/site-packages/nvidia/*/lib"))
    folders += [str(pathlib.Path(bundle) / "lib"), os.environ.get("LD_LIBRARY_PATH", "")]
    environment["LD_LIBRARY_PATH"] = os.pathsep.join(dict.fromkeys(filter(None, folders)))
    return [str(caffe)], environment


def device(caffe, results):
    if not caffe.gpu:
        model = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), "")
        results["device"] = {"mode": "cpu", "cpu": model, "cores": os.cpu_count()}
        return
    code, output, _ = caffe.run("device_query", timeout=60)
    if code != 0:
        raise CheckError("no GPU found: `caffe device_query -gpu 0` failed: "
                         f"{(output.strip().splitlines() or ['no output'])[-1]} (use --cpu to check this script "
                         "on a CPU)")
    info = {"mode": "gpu"}
    for key, pattern in (("name", r"Name:\s*(.+)"), ("memory_bytes", r"Total global mem:\s*(\d+)"),
                         ("compute", r"Major revision number:\s*(\d+)")):
        match = re.search(pattern, output)
        info[key] = match.group(1).strip() if match else None
    try:
        smi = subprocess.run(["nvidia-smi", "--query-gpu=name,driver_version,memory.total", "--format=csv,noheader"],
                             capture_output=True, text=True, timeout=30).stdout.strip()
        info["nvidia_smi"] = smi
    except (OSError, subprocess.TimeoutExpired):
        info["nvidia_smi"] = None
    results["device"] = info


def gen_lmdb(photos, output, size, crops, resize=None, limit=None, data_format="yuv64", scales=None):
    """tools/gen_lmdb.py over the carried photos (the first `limit`); scales (e.g. "160"): whole
    photos at those short sides, with crops 0. Returns how many photos it read."""
    listing = sorted(p for p in pathlib.Path(photos).rglob("*") if p.suffix.lower() in (".jpg", ".jpeg", ".png"))
    if limit:
        listing = listing[:limit]
    if not listing:
        raise CheckError(f"{photos}: no photos (carry the train photos: bench/gpu_check.sh --prepare)")
    list_file = pathlib.Path(str(output) + ".txt")
    list_file.write_text("".join(f"{p.resolve()}\n" for p in listing))
    command = [sys.executable, str(REPO_ROOT / "tools/gen_lmdb.py"), str(list_file), "-o", str(output),
               "--size", str(size), "--crops-per-photo", str(crops), "--workers", str(min(8, os.cpu_count())),
               "--force", "-q"]
    if resize:
        command += ["--resize", resize]
    if scales:
        command += ["--scales", scales]
    result = subprocess.run(command + ["--format", data_format], capture_output=True, text=True)
    if result.returncode != 0:
        raise CheckError(f"gen_lmdb failed for {output}: {result.stderr.strip()[-300:]}")
    return len(listing)


def rewrite(name, work, replacements):
    """A prototxt from prototxt/ copied into work with its data paths and prefixes replaced."""
    text = (REPO_ROOT / "prototxt" / name).read_text()
    for old, new in replacements.items():
        text = text.replace(old, new)
    path = work / name
    path.write_text(text)
    return path


def time_nets(caffe, work, data, lite, iterations, results, nets=FULL_NETS):
    suffix = "_lite" if lite else ""
    rows = {}
    for net in nets:
        name = f"train_val_{net}.prototxt" if net.endswith("_lite") else f"train_val_{net}{suffix}.prototxt"
        if not (REPO_ROOT / "prototxt" / name).exists():
            rows[net] = {"skipped": "no such net in prototxt/ yet"}
            continue
        path = rewrite(name, work, data)
        code, output, _ = caffe.run("time", "-model", str(path), "-iterations", str(iterations), timeout=240,
                                    log_file=work / f"time_{net}.log")
        match = re.search(r"Average Forward-Backward:\s*([\d.]+)\s*ms", output)
        batch = re.search(r"batch_size:\s*(\d+)", path.read_text().split("phase: TRAIN")[-1])
        if code == 0 and match:
            ms = float(match.group(1))
            rows[net] = {"ms_per_iteration": ms, "iterations_per_s": 1000 / ms, "batch": int(batch.group(1)) if batch else None,
                         "vs_original": 1000 / ms / ORIGINAL_ITERATIONS_PER_S}
        else:
            reason = "Python layers: the bundle's caffe embeds a Python this machine lacks" \
                if "Python" in output and code != 0 else (output.strip().splitlines() or ["no output"])[-1]
            rows[net] = {"failed": str(reason)[:300], "code": code}
        log.info("caffe time %s: %s", net, rows[net])
    results["time"] = rows


def stage_solver(work, name, net, iterations, lr, gamma, stepsize, snapshot, prefix, data):
    rewrite(net, work, data)
    text = (f'net: "{work / net}"\ntest_iter: 6\ntest_interval: {max(iterations // 4, 1)}\nbase_lr: {lr}\n'
            f'lr_policy: "{"step" if gamma else "fixed"}"\n' + (f"gamma: {gamma}\nstepsize: {stepsize}\n" if gamma else "")
            + f"display: 20\nmax_iter: {iterations}\nmomentum: 0.9\nmomentum2: 0.99\nweight_decay: 1e-05\n"
            f'snapshot: {snapshot}\nsnapshot_prefix: "{prefix}"\nsolver_mode: CPU\nrandom_seed: 1701\n'
            'type: "Adam"\naverage_loss: 20\ntest_initialization: false\n')
    path = work / f"solver_{name}.prototxt"
    path.write_text(text)
    return path


def train(caffe, work, data, seconds, out, results, stages=("plain", "rebalance"), keep=3):
    """The default's recipe, scaled: it/s measured by `caffe time`, then the stages asked for
    (the rebalanced one has Python layers: on a GPU machine the plain stage gets all the time and
    the rebalanced one runs here afterwards). The final weights and `keep` earlier snapshots,
    evenly spaced, are copied to out."""
    code, output, _ = caffe.run("time", "-model", str(rewrite("train_val_color_lite.prototxt", work, data)),
                                "-iterations", "10", timeout=120)
    match = re.search(r"Average Forward-Backward:\s*([\d.]+)\s*ms", output)
    if code != 0 or not match:
        raise CheckError(f"cannot time the lite color net: {(output.strip().splitlines() or ['?'])[-1]}")
    per_s = 1000 / float(match.group(1)) * 0.85  # the solver's update and the test passes cost too
    total = max(int(per_s * seconds), 12)
    shares = STAGE_SHARES if "rebalance" in stages else (1.0, 0.0)
    plain, rebalanced = (max(int(total * share), 6) for share in shares)
    snapshot = max(int(per_s * 60), 5)
    record = {"measured_iterations_per_s": per_s, "seconds": seconds, "stages": {}}
    first = stage_solver(work, "plain", "train_val_color_lite.prototxt", plain, 1e-3, 0.3,
                         max(int(plain * STEP_FRACTION), 1), snapshot, work / "snapshots" / "color_lite", data)
    (work / "snapshots").mkdir(exist_ok=True)
    weights = None
    for stage, solver, extra, count in (("plain", first, [], plain), ("rebalance", None, None, rebalanced)):
        if stage not in stages:
            continue
        if stage == "rebalance":
            solver = stage_solver(work, "rebalance", "train_val_color_lite_rebalance.prototxt", count, 1e-4, None, None,
                                  snapshot, work / "snapshots" / "color_lite_rebalance", data)
            extra = ["--weights", str(weights)]
        code, output, elapsed = caffe.run("train", "--solver", str(solver), *extra, timeout=int(seconds * 1.5) + 60,
                                          log_file=out / f"train_{stage}.log")
        final = work / "snapshots" / f"color_lite{'_rebalance' if stage == 'rebalance' else ''}_iter_{count}.caffemodel"
        losses = [float(v) for v in re.findall(r"Iteration \d+ \([^)]*\), loss = ([\d.]+)", output)]
        record["stages"][stage] = {"iterations": count, "seconds": elapsed, "code": code,
                                   "loss_first": losses[0] if losses else None, "loss_last": losses[-1] if losses else None}
        if code != 0 or not final.exists():
            reason = "its Python layers need the Python the bundle's caffe embeds" if "Python" in output else \
                (output.strip().splitlines() or ["no output"])[-1][:300]
            record["stages"][stage]["failed"] = reason
            log.warning("training stage %s did not finish: %s", stage, reason)
            break
        weights = final
    if weights:
        shutil.copy(weights, out / f"trained_{weights.name}")
        record["weights"] = f"trained_{weights.name}"
        earlier = sorted((p for p in weights.parent.glob(f"{weights.name.rsplit('_iter_', 1)[0]}_iter_*.caffemodel")
                          if p != weights), key=lambda p: int(p.stem.rsplit("_", 1)[1]))
        picked = [earlier[round(i * (len(earlier) - 1) / max(keep - 1, 1))] for i in range(min(keep, len(earlier)))]
        for snapshot in dict.fromkeys(picked):
            shutil.copy(snapshot, out / f"trained_{snapshot.name}")
        record["snapshots"] = [f"trained_{p.name}" for p in dict.fromkeys(picked)]
    results["training"] = record


def markdown(results):
    lines = ["# GPU check", "", f"Device: `{json.dumps(results.get('device'))}`", "",
             "| net | batch | ms / iteration | it/s | × the original's 0.66 it/s |", "|---|---|---|---|---|"]
    for net, row in results.get("time", {}).items():
        if "ms_per_iteration" in row:
            lines.append(f"| {net} | {row['batch']} | {row['ms_per_iteration']:.1f} | {row['iterations_per_s']:.2f} | "
                         f"{row['vs_original']:.1f}× |")
        else:
            lines.append(f"| {net} | | {row.get('failed') or row.get('skipped')} | | |")
    lines += ["", "| agreement | values | max relative difference | compared |", "|---|---|---|---|"]
    for net, row in results.get("agreement", {}).items():
        if "max_relative_difference" in row:
            lines.append(f"| {net} | {row['values']} | {row['max_relative_difference']:.2e} | {row['compared']} |")
        else:
            lines.append(f"| {net} | | {row.get('failed')} | |")
    training = results.get("training", {})
    lines += ["", f"Training: {training.get('measured_iterations_per_s', 0):.2f} it/s measured; "
              + "; ".join(f"{stage} {row['iterations']} iterations in {row['seconds']:.0f} s, loss {row['loss_first']} → "
                          f"{row['loss_last']}{' (' + row['failed'] + ')' if 'failed' in row else ''}"
                          for stage, row in training.get("stages", {}).items())
              + (f"; weights: {training['weights']}" if training.get("weights") else ""), ""]
    if results.get("error"):
        lines += [f"**Stopped:** {results['error']}", ""]
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cpu", action="store_true", help="run on the CPU with tiny counts (checks the script)")
    parser.add_argument("--minutes", type=float, default=9.0, help="the whole run's budget (default 9)")
    parser.add_argument("--bundle", type=pathlib.Path, default=REPO_ROOT / ".gpu" / "gpu-bundle",
                        help="the GPU bundle folder (default .gpu/gpu-bundle, else .gpu/gpu-bundle.tar.xz unpacked)")
    parser.add_argument("--photos", type=pathlib.Path, default=REPO_ROOT / ".gpu" / "photos",
                        help="train photos (default .gpu/photos, made by --prepare)")
    parser.add_argument("--wheels", type=pathlib.Path, default=REPO_ROOT / ".gpu" / "wheels",
                        help="wheels to put on the path first (lmdb), made by --prepare")
    parser.add_argument("-o", "--output", type=pathlib.Path, default=pathlib.Path(os.environ.get("OUT", "out/gpu_check")),
                        help="results folder (default $OUT, else out/gpu_check)")
    parser.add_argument("--steps", default="time,agreement,train",
                        help="which steps after the device query, comma-separated (default time,agreement,train)")
    parser.add_argument("--nets", default=None,
                        help="nets to time, comma-separated (default: every full-size one, lite with --cpu; a name "
                             "ending in _lite times that lite net)")
    parser.add_argument("--stages", default=None,
                        help="training stages, comma-separated (default: plain,rebalance with --cpu; plain on a GPU, "
                             "since the rebalanced stage's Python layers need the Python the bundle's caffe embeds)")
    parser.add_argument("--recipe", choices=("lite", "squeeze"), default="lite",
                        help="what the training step trains: the lite color net's recipe (default), or the default "
                             "family's, the squeeze net's head then all layers at 224 crops (bench/gpu_squeeze.py)")
    parser.add_argument("--trunk", type=pathlib.Path, default=REPO_ROOT / ".gpu" / "squeezenet_grey.caffemodel",
                        help="--recipe squeeze: the trunk's weights (default .gpu/squeezenet_grey.caffemodel, "
                             "copied there by --prepare)")
    parser.add_argument("--prepare", action="store_true",
                        help="here, before a GPU run: make .gpu/ (photos, wheels, bundle) and report its size")
    parser.add_argument("--short-side", type=int, default=TRAIN_RECORD_SIDE,
                        help=f"--prepare: photos' short side (default {TRAIN_RECORD_SIDE}, the CPU recipe's record "
                             "size; the bundle travels as 12 MB of xz beside the repo's 15 MB)")
    parser.add_argument("--quality", type=int, default=85,
                        help="--prepare: the photos' JPEG quality (default 85; the squeeze recipe's 3,000 photos fit "
                             "the carry limit at --short-side 160 --quality 75)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s", datefmt="%H:%M:%S")
    if args.prepare:
        sizes = prepare(args.photos.parent, REPO_ROOT / "data/photos/train.txt", args.short_side,
                        REPO_ROOT / "out" / "gpu-bundle", args.quality)
        log.info("to carry (64 MB at most): %s", ", ".join(f"{k} {v:.1f} MB" for k, v in sizes.items()))
        return 0 if sizes["total"] <= 64 else 1
    started = time.monotonic()
    args.output.mkdir(parents=True, exist_ok=True)
    work = args.output / "work" if args.cpu else pathlib.Path("/tmp/colornet-gpu-check")
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    if args.wheels.is_dir():
        target = work / "site"
        for wheel in sorted(args.wheels.glob("*.whl")):
            subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-index", "--no-deps", "--target",
                            str(target), str(wheel)], check=False, capture_output=True)
        os.environ["PYTHONPATH"] = os.pathsep.join(filter(None, [str(target), os.environ.get("PYTHONPATH")]))
    results = {"started": time.strftime("%Y-%m-%d %H:%M:%S"), "mode": "cpu" if args.cpu else "gpu",
               "minutes": args.minutes, "host": platform.node()}
    status = 0
    steps = set(args.steps.split(","))
    try:
        bundle = args.bundle if args.cpu else unpacked_bundle(args.bundle, work)
        command, environment = caffe_environment(bundle, not args.cpu)
        caffe = Caffe(command, environment, gpu=not args.cpu)
        device(caffe, results)
        timing_photos = 6 if args.cpu else 48
        data = {}
        for data_format, side in (("yuv64", 224), ("bgr", 256), ("lab", 256)):
            name = "lmdb" if data_format == "yuv64" else f"{data_format}_lmdb"
            gen_lmdb(args.photos, work / f"time_{name}", side, 1, "crop", timing_photos, data_format)
            data.update({f"data/train_{name}": str(work / f"time_{name}"), f"data/val_{name}": str(work / f"time_{name}")})
        if "time" in steps:
            time_nets(caffe, work, data, lite=args.cpu, iterations=2 if args.cpu else 20, results=results,
                      nets=tuple(args.nets.split(",")) if args.nets else FULL_NETS)
        if "agreement" in steps:
            agreement(caffe, work, results)
        if "train" in steps and args.recipe == "squeeze":
            from gpu_squeeze import train_squeeze
            left = args.minutes * 60 - (time.monotonic() - started) - 30
            try:
                train_squeeze(caffe, work, args.photos, args.trunk, max(left, 20), args.output, results, rewrite,
                              stage_solver, gen_lmdb, cpu=args.cpu)
            except RuntimeError as error:
                raise CheckError(str(error)) from None
        elif "train" in steps:
            # Records at the CPU recipe's 224 (crops of 128 from them): the first GPU run built them at
            # 160 from photos carried at 160, and its weights scored below the CPU-trained ones.
            photos = gen_lmdb(args.photos, work / "train_lmdb", TRAIN_RECORD_SIDE, 8)
            gen_lmdb(args.photos, work / "val_lmdb", TRAIN_RECORD_SIDE, 1, "crop", 48)
            results["train_record_side"] = TRAIN_RECORD_SIDE
            results["train_photos"] = photos
            left = args.minutes * 60 - (time.monotonic() - started) - 30
            train_data = {"data/train_lmdb": str(work / "train_lmdb"), "data/val_lmdb": str(work / "val_lmdb")}
            stages = tuple((args.stages or ("plain,rebalance" if args.cpu else "plain")).split(","))
            train(caffe, work, train_data, max(left, 20), args.output, results, stages)
    except CheckError as error:
        log.error("%s", error)
        results["error"] = str(error)
        status = 3
    results["seconds"] = time.monotonic() - started
    (args.output / "gpu_check.json").write_text(json.dumps(results, indent=2) + "\n")
    (args.output / "gpu_check.md").write_text(markdown(results))
    log.info("wrote %s/gpu_check.json and gpu_check.md in %.0f s", args.output, results["seconds"])
    return status


if __name__ == "__main__":
    sys.exit(main())
