"""Measure the empirical prior over the 313 ab bins on your photos, for class rebalancing.

Every pixel's ab (CIE Lab, D65) is assigned to its nearest bin centre (data/pts_in_hull.npy);
the counts are smoothed over the ab plane with a Gaussian of σ = 5 (as Zhang et al. did) and
normalised. Photos are read at about --side pixels on the short side (JPEGs are decoded at a
reduced size), which changes nothing for a histogram but saves time. Unreadable photos are
skipped and counted. A PNG of the prior over the ab plane is written beside the .npy.

The command line: tools/compute_prior.py.
"""
import logging
import pathlib


import cv2
import numpy as np

from colornet.colour import lab313
from colornet.photo_io import UnreadableImage, list_images, read_bgr

log = logging.getLogger("compute_prior")


def images_from(inputs, side, skipped):
    """Yield (name, uint8 BGR H×W×3) from photo files/dirs/lists or one BGR LMDB folder;
    unreadable photos are logged, appended to ``skipped`` and passed over."""
    if len(inputs) == 1 and (pathlib.Path(inputs[0]) / "data.mdb").exists():
        from colornet.data.inspect import read_records
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


def compute_prior(inputs, output, centres_path=lab313.DEFAULT_CENTRES, sigma=5.0, side=256):
    """Write the smoothed 313-bin ab prior of the photos (or one BGR LMDB) in `inputs` to `output`
    (.npy, and a picture of it beside it as .png). Returns the unreadable inputs' errors.
    Raises ValueError when nothing is readable."""
    output = pathlib.Path(output)
    centres = lab313.load_centres(centres_path)
    encoder = lab313.SoftEncoder(centres, k=1)
    skipped = []
    counts = bin_counts(images_from(inputs, side, skipped), encoder)
    if counts.sum() == 0:
        raise ValueError(f"no readable photos in {' '.join(map(str, inputs))} ({len(skipped)} skipped)")
    prior = lab313.smooth_histogram(counts, centres, sigma)
    output.parent.mkdir(parents=True, exist_ok=True)
    staging = output.with_name(f".{output.name}.partial.npy")
    np.save(staging, prior)
    staging.replace(output)
    picture = output.with_suffix(".png")
    plot_prior(prior, centres, picture)
    log.info("wrote %s (%d pixels, %d bins seen, %d photos skipped) and %s", output, int(counts.sum()),
             int((counts > 0).sum()), len(skipped), picture)
    return skipped
