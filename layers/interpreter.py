"""What interpreter and packages a process runs: used to prove that the Python embedded in the
``caffe`` binary is the one that runs pycaffe and ``tools/``, with the same packages."""
import sys

REPORTED_PACKAGES = ("numpy", "cv2", "skimage", "lmdb", "h5py", "google.protobuf")


def interpreter_report():
    """Executable prefix, Python version and the versions of the packages colornet needs."""
    import importlib
    versions = {}
    for name in REPORTED_PACKAGES:
        module = importlib.import_module(name)
        versions[name] = getattr(module, "__version__", None)
    return {"prefix": sys.prefix, "base_prefix": sys.base_prefix,
            "version": sys.version, "packages": versions}
