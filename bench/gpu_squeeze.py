"""The default family's recipe on a GPU (bench/gpu_check.py --recipe squeeze): the squeeze net's
head stage from the ImageNet-trained trunk, then all layers from the head's last weights, as
`make train-squeeze` does on the CPU, but at larger crops (up to 224), a larger batch and as
many iterations as the minutes allow.

The stock nets are trained (train_val_squeeze_{head,all}_stock: the same gradients as the Python
nets, no Python layers), because the bundle's caffe embeds a Python the GPU machine does not
have. Photos come at the short side --prepare carried them (`--short-side 160 --quality 75`: the
3,000 train photos within the 64 MB carry limit beside the bundle), stored whole at that side
(records of any width) and cropped at random (224, or the side if less) with mirror by the Data
layer. The trunk's weights travel beside them (.gpu/squeezenet_grey.caffemodel, 2.9 MB).
Snapshots come back to OUT (about 3 MB each) to be scored on val here with the Python deploy net.
"""
import pathlib
import re
import shutil

REPO_ROOT = pathlib.Path(__file__).resolve().parents[1]
# stage: (share of the training time, base lr, gamma, step at this fraction of the stage)
STAGES = {"head": (0.4, 1e-3, 0.3, 0.75), "all": (0.6, 1e-4, 0.5, 0.5)}
GPU_CROP, GPU_BATCH = 224, 32
CPU_CROP, CPU_BATCH = 128, 2   # --cpu: checks the machinery on a few photos
TRUNK = "squeezenet_grey.caffemodel"


def replacements(work, crop, batch):
    return {"data/train_scales_lmdb": str(work / "squeeze_train_lmdb"), "data/val_lmdb": str(work / "squeeze_val_lmdb"),
            "crop_size: 128": f"crop_size: {crop}", "batch_size: 16": f"batch_size: {batch}",
            "batch_size: 8": f"batch_size: {max(batch // 2, 1)}"}


def carried_side(photos):
    """The short side --prepare brought the photos to (the smallest of the first 20)."""
    import cv2
    sides = [min(image.shape[:2]) for image in (cv2.imread(str(p)) for p in sorted(pathlib.Path(photos).rglob("*.jpg"))[:20])
             if image is not None]
    return min(sides) if sides else GPU_CROP


def train_squeeze(caffe, work, photos, trunk, seconds, out, results, rewrite, stage_solver, gen_lmdb, cpu=False):
    """Both stages in `seconds` (split by STAGES' shares after timing the all-layers net); every
    snapshot of both stages copied to out; results["training"]. rewrite, stage_solver, gen_lmdb:
    bench/gpu_check.py's."""
    if not pathlib.Path(trunk).is_file():
        raise RuntimeError(f"{trunk}: no trunk weights (bench/gpu_check.sh --prepare copies "
                           f"models/squeezenet/{TRUNK} there; `make squeezenet` makes it)")
    side = carried_side(photos)
    crop = CPU_CROP if cpu else min(GPU_CROP, side)
    # Train records: every photo whole at the carried side; val: 48 centre crops (6 with --cpu).
    count = gen_lmdb(photos, work / "squeeze_train_lmdb", side, 0, scales=str(side))
    gen_lmdb(photos, work / "squeeze_val_lmdb", side, 0, "crop", 6 if cpu else 48)
    record = {"recipe": "squeeze (stock nets)", "photos": count, "side": side,
              "crop": crop, "batch": CPU_BATCH if cpu else GPU_BATCH, "stages": {}}
    data = replacements(work, crop, record["batch"])
    code, output, _ = caffe.run("time", "-model", str(rewrite("train_val_squeeze_all_stock.prototxt", work, data)),
                                "-iterations", "5" if cpu else "20", timeout=300)
    match = re.search(r"Average Forward-Backward:\s*([\d.]+)\s*ms", output)
    if code != 0 or not match:
        raise RuntimeError(f"cannot time the squeeze net: {(output.strip().splitlines() or ['?'])[-1]}")
    per_s = 1000 / float(match.group(1)) * 0.85
    record["measured_iterations_per_s"] = per_s
    (work / "snapshots").mkdir(exist_ok=True)
    weights = pathlib.Path(trunk)
    for stage, (share, lr, gamma, step) in STAGES.items():
        count = max(int(per_s * seconds * share), 4)
        snapshot = max(count // 4, 1)
        prefix = work / "snapshots" / f"squeeze_{stage}_stock"
        solver = stage_solver(work, stage, f"train_val_squeeze_{stage}_stock.prototxt", count, lr, gamma,
                              max(int(count * step), 1), snapshot, prefix, data)
        code, output, elapsed = caffe.run("train", "--solver", str(solver), "--weights", str(weights),
                                          timeout=int(seconds * share * 1.5) + 120, log_file=out / f"train_squeeze_{stage}.log")
        final = pathlib.Path(f"{prefix}_iter_{count}.caffemodel")
        losses = [float(v) for v in re.findall(r"rebalanced_loss = ([\d.]+)", output)]
        tests = [float(v) for v in re.findall(r"Test net output #\d+: loss = ([\d.]+)", output)]
        record["stages"][stage] = {"iterations": count, "seconds": elapsed, "code": code, "loss_first": losses[0] if losses else None,
                                   "loss_last": losses[-1] if losses else None, "val_plain_losses": tests}
        if code != 0 or not final.exists():
            record["stages"][stage]["failed"] = (output.strip().splitlines() or ["no output"])[-1][:300]
            break
        for snapshot_file in sorted(final.parent.glob(f"{prefix.name}_iter_*.caffemodel")):
            shutil.copy(snapshot_file, out / f"trained_{snapshot_file.name}")
        weights = final
    record["weights"] = sorted(p.name for p in out.glob("trained_squeeze_*.caffemodel"))
    results["training"] = record
