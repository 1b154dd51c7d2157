"""The GPU check's agreement step (bench/gpu_check.py): one forward of deploy_color and
deploy_lab313 with the same fixed-seed weights in GPU and CPU mode, fed one real photo, compared
number by number (with --cpu, CPU against CPU: it checks the machinery only)."""
import logging
import pathlib
import re

REPO_ROOT = pathlib.Path(__file__).resolve().parents[1]
log = logging.getLogger("gpu_check")


def probe_net(deploy, work, h5_list):
    """The deploy net fed one real photo from HDF5, BatchNorm on the batch's own statistics (no
    trained statistics needed), its output average-pooled 4×4 so `caffe test` prints a few
    thousand numbers."""
    text = (REPO_ROOT / "prototxt" / deploy).read_text()
    input_name = re.search(r'type:\s*"Input"\s*top:\s*"(\w+)"', text).group(1)
    text = re.sub(r'layer\s*{\s*name:\s*"\w+"\s*type:\s*"Input".*?\n}\n',
                  f'layer {{\n  name: "{input_name}"\n  type: "HDF5Data"\n  top: "{input_name}"\n'
                  f'  hdf5_data_param {{\n    source: "{h5_list}"\n    batch_size: 1\n  }}\n}}\n', text, count=1, flags=re.S)
    text = text.replace("use_global_stats: true", "use_global_stats: false")
    last = re.findall(r'top:\s*"(\w+)"', text)[-1]
    text += (f'layer {{\n  name: "probe"\n  type: "Pooling"\n  bottom: "{last}"\n  top: "probe"\n'
             '  pooling_param {\n    pool: AVE\n    kernel_size: 4\n    stride: 4\n  }\n}\n')
    path = work / f"probe_{deploy}"
    path.write_text(text)
    return path


def probe_input(work, side, lab):
    """One real photo (scikit-image's astronaut if present, else a textured ramp) as 1×1×side×side."""
    import cv2
    import h5py
    import numpy as np
    image = None
    try:
        import skimage
        image = cv2.imread(str(pathlib.Path(skimage.__file__).parent / "data" / "astronaut.png"), cv2.IMREAD_GRAYSCALE)
    except ImportError:
        pass
    if image is None:
        y, x = np.mgrid[0:side, 0:side]
        image = (128 + 60 * np.sin(x / 9.0) * np.cos(y / 13.0)).astype(np.uint8)
    grey = cv2.resize(image, (side, side), interpolation=cv2.INTER_AREA).astype(np.float32)
    values = grey * (100.0 / 255.0) if lab else grey
    path = work / f"probe_{'l' if lab else 'y'}.h5"
    with h5py.File(path, "w") as h5:
        h5.create_dataset("data_l" if lab else "data_y", data=values[None, None])
    (work / f"probe_{'l' if lab else 'y'}.txt").write_text(f"{path}\n")
    return work / f"probe_{'l' if lab else 'y'}.txt"


def agreement(caffe, work, results):
    import numpy as np
    rows = {}
    for deploy, lab in (("deploy_color.prototxt", False), ("deploy_lab313.prototxt", True)):
        net = probe_net(deploy, work, probe_input(work, 224, lab))
        # Fixed-seed weights from the net's own fillers: a 0-iteration solver snapshots them.
        solver = work / f"solver_probe_{deploy}"
        prefix = work / f"probe_{net.stem}"
        solver.write_text(f'net: "{net}"\nbase_lr: 0\nmax_iter: 0\nrandom_seed: 1701\nsnapshot_prefix: "{prefix}"\n'
                          'solver_mode: CPU\ndisplay: 1\n')
        code, output, _ = caffe.run("train", "--solver", str(solver), gpu=False, timeout=300)
        weights = pathlib.Path(f"{prefix}_iter_0.caffemodel")
        if code != 0 or not weights.exists():
            rows[deploy] = {"failed": (output.strip().splitlines() or ["no output"])[-1][:300]}
            continue
        values = {}
        for mode, gpu in (("cpu", False), ("gpu", caffe.gpu)):
            code, output, _ = caffe.run("test", "-model", str(net), "-weights", str(weights), "-iterations", "1",
                                        gpu=gpu, timeout=300)
            numbers = re.findall(r"Batch 0, probe = ([-+\deE.naif]+)", output)
            values[mode] = np.array([float(v) for v in numbers])
        cpu, other = values["cpu"], values["gpu"]
        if len(cpu) == 0 or len(cpu) != len(other):
            rows[deploy] = {"failed": f"outputs: {len(cpu)} on the CPU, {len(other)} on the GPU"}
            continue
        scale = float(np.abs(cpu).max()) or 1.0
        rows[deploy] = {"values": int(len(cpu)), "max_abs_difference": float(np.abs(cpu - other).max()),
                        "max_relative_difference": float(np.abs(cpu - other).max() / scale),
                        "compared": "GPU vs CPU" if caffe.gpu else "CPU vs CPU (--cpu: checks the machinery only)"}
        log.info("agreement %s: %s", deploy, rows[deploy])
    results["agreement"] = rows
