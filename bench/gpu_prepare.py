"""The GPU check's --prepare (bench/gpu_check.py): what a GPU machine without a package registry
needs, gathered under .gpu/ here and sized against the device tool's carry limit."""
import logging
import os
import pathlib
import shutil
import subprocess
import sys

REPO_ROOT = pathlib.Path(__file__).resolve().parents[1]
BUNDLE_ARCHIVE = "gpu-bundle.tar.xz"
log = logging.getLogger("gpu_check")


def prepare(folder, photos_list, short_side, bundle, quality=85):
    """Here, before a GPU run: the train photos downscaled, the lmdb wheel for the GPU machine's
    Python, and the bundle, all under folder (to be carried); returns the sizes in MB."""
    import cv2
    photos = folder / "photos"
    shutil.rmtree(photos, ignore_errors=True)
    photos.mkdir(parents=True)
    from colornet.photo_io import UnreadableImage, list_images, read_bgr
    for number, path in enumerate(list_images([photos_list])):
        try:
            image = read_bgr(path)
        except UnreadableImage as error:
            log.warning("%s; skipped", error)
            continue
        scale = short_side / min(image.shape[:2])
        if scale < 1:
            image = cv2.resize(image, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
        cv2.imwrite(str(photos / f"{number:04d}.jpg"), image, [cv2.IMWRITE_JPEG_QUALITY, quality])
    wheels = folder / "wheels"
    wheels.mkdir(exist_ok=True)
    download = subprocess.run([sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:",
                               "--python-version", "3.12", "--implementation", "cp", "--platform",
                               "manylinux_2_17_x86_64", "--platform", "manylinux2014_x86_64", "-d", str(wheels),
                               "lmdb==3.0.0"], capture_output=True, text=True)
    if download.returncode != 0:
        log.warning("could not fetch the lmdb wheel: %s", download.stderr.strip()[-200:])
    trunk = REPO_ROOT / "models" / "squeezenet" / "squeezenet_grey.caffemodel"
    if trunk.is_file():  # for --recipe squeeze
        shutil.copy(trunk, folder / trunk.name)
    else:
        log.warning("%s: missing (make squeezenet); --recipe squeeze needs it", trunk)
    if (bundle / "bin" / "caffe").is_file():
        # xz: 41 MB of libraries travel as 12 (the carry limit is 64 MB with the repo's own files).
        shutil.rmtree(folder / "gpu-bundle", ignore_errors=True)
        archive = folder / BUNDLE_ARCHIVE
        subprocess.run(["tar", "-C", str(bundle.parent), "-cJf", str(archive) + ".partial", bundle.name], check=True)
        os.replace(str(archive) + ".partial", archive)
    else:
        log.warning("%s: no GPU bundle (make setup GPU=1 && make gpu-bundle); the run needs one", bundle)

    def megabytes(path):
        return sum(p.stat().st_size for p in pathlib.Path(path).rglob("*") if p.is_file()) / 2 ** 20
    tracked = subprocess.run(["git", "ls-files", "-z"], cwd=REPO_ROOT, capture_output=True).stdout.split(b"\0")
    sizes = {"tracked files": sum((REPO_ROOT / n.decode()).stat().st_size for n in tracked if n
                                  and (REPO_ROOT / n.decode()).is_file()) / 2 ** 20,
             **{name: megabytes(folder / name) for name in ("photos", "wheels")},
             trunk.name: (folder / trunk.name).stat().st_size / 2 ** 20 if (folder / trunk.name).exists() else 0,
             BUNDLE_ARCHIVE: (folder / BUNDLE_ARCHIVE).stat().st_size / 2 ** 20 if (folder / BUNDLE_ARCHIVE).exists() else 0}
    sizes["total"] = sum(sizes.values())
    return sizes
