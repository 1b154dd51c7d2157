"""Measure the empirical prior over the 313 ab bins on your photos, for class rebalancing.

    python tools/compute_prior.py data/photos/train.txt -o data/prior_probs.npy
    python tools/compute_prior.py data/train_bgr_lmdb -o my_prior.npy

Every pixel's ab (CIE Lab, D65) is assigned to its nearest bin centre (data/pts_in_hull.npy);
the counts are smoothed over the ab plane with a Gaussian of σ = 5 (as Zhang et al. did) and
normalised. Photos are read at about --side pixels on the short side (JPEGs are decoded at a
reduced size), which changes nothing for a histogram but saves time. Unreadable photos are
skipped and counted. A PNG of the prior over the ab plane is written beside the .npy.
"""
import argparse
import logging
import pathlib
import sys

if __package__ in (None, ""):  # run as `python tools/compute_prior.py`: make the repo importable
    sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1]))

import cv2
import numpy as np

from layers import lab313
from tools.common import setup_logging
from tools.photo_io import UnreadableImage, list_images, read_bgr

log = logging.getLogger("compute_prior")


def images_from(inputs, side, skipped):
    """Yield (name, uint8 BGR H×W×3) from photo files/dirs/lists or one BGR LMDB folder;
    unreadable photos are logged, appended to ``skipped`` and passed over."""
    if len(inputs) == 1 and (pathlib.Path(inputs[0]) / "data.mdb").exists():
        from tools.inspect_lmdb import read_records
        for key, record in read_records(inputs[0]):
            if record.shape[0] != 3:
                raise ValueError(f"{inputs[0]}: records have {record.shape[0]} channels; need a BGR LMDB "
                                 "(make lmdb-bgr), not a YUV-64 one")
            yield f"{inputs[0]}:{key}", record.transpose(1, 2, 0)
        return
    for path in list_images(inputs):
        # Caught here, not by the caller: an exception leaving a generator ends it, and every
        # photo after the bad one would be lost.
        try:
            bgr = read_bgr(path, min_side=side)
        except UnreadableImage as error:
            log.warning("skipped: %s", error)
            skipped.append(str(error))
            continue
        scale = side / min(bgr.shape[:2])
        if scale < 1:
            bgr = cv2.resize(bgr, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
        yield str(path), bgr


def bin_counts(images, encoder):
    from tqdm import tqdm
    counts = np.zeros(len(encoder.centres), dtype=np.float64)
    for _, bgr in tqdm(images, desc="prior", unit="photo"):
        ab = lab313.bgr_to_lab(bgr.transpose(2, 0, 1)[None])[0, 1:]
        nearest, _ = encoder.nearest(ab.reshape(2, -1).T)
        counts += np.bincount(nearest[:, 0], minlength=len(counts))
    return counts


def plot_prior(prior, centres, output):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    grid = np.full((23, 23), np.nan)
    cells = ((centres + 110) / 10).astype(int)
    grid[cells[:, 0], cells[:, 1]] = np.log10(np.clip(prior, 1e-12, None))
    figure, axis = plt.subplots(figsize=(4.5, 4), dpi=100)
    image = axis.imshow(grid, origin="lower", extent=(-115, 115, -115, 115), cmap="viridis")
    axis.set_xlabel("b")
    axis.set_ylabel("a")
    axis.set_title("log10 prior over the 313 ab bins")
    figure.colorbar(image)
    figure.tight_layout()
    figure.savefig(output)
    plt.close(figure)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("inputs", nargs="+", help="photo files, folders, .txt lists, or one BGR LMDB folder")
    parser.add_argument("-o", "--output", type=pathlib.Path, default=pathlib.Path("data/prior_probs.npy"),
                        help="where to write the 313 probabilities (default data/prior_probs.npy)")
    parser.add_argument("--centres", default=lab313.DEFAULT_CENTRES, help="bin centres .npy (default %(default)s)")
    parser.add_argument("--sigma", type=float, default=5.0, help="Gaussian smoothing in ab units (default 5)")
    parser.add_argument("--side", type=int, default=256, help="short side photos are read at (default 256)")
    args = parser.parse_args(argv)
    setup_logging()
    centres = lab313.load_centres(args.centres)
    encoder = lab313.SoftEncoder(centres, k=1)
    skipped = []
    try:
        counts = bin_counts(images_from(args.inputs, args.side, skipped), encoder)
    except ValueError as error:
        log.error("%s", error)
        return 2
    if counts.sum() == 0:
        log.error("no readable photos in %s (%d skipped)", " ".join(args.inputs), len(skipped))
        return 2
    prior = lab313.smooth_histogram(counts, centres, args.sigma)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    staging = args.output.with_name(f".{args.output.name}.partial.npy")
    np.save(staging, prior)
    staging.replace(args.output)
    picture = args.output.with_suffix(".png")
    plot_prior(prior, centres, picture)
    log.info("wrote %s (%d pixels, %d bins seen, %d photos skipped) and %s", args.output, int(counts.sum()),
             int((counts > 0).sum()), len(skipped), picture)
    return 0 if not skipped else 1


if __name__ == "__main__":
    sys.exit(main())
