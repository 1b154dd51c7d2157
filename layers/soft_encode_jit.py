"""The soft encoding's per-pixel loop, compiled by Numba: what SoftEncoder.encode does with a
dozen whole-array numpy passes (gather, distances, packed-key partition, sort, exp, scatter), done
in one pass per pixel with the K nearest kept in registers.

numba is used because the work is a small selection per pixel, which numpy can only express as
passes over N×W temporaries: the compiled loop is about 2× faster than our best numpy version
on one thread and 4× on two (bench/RESULTS.md). The numpy version stays as the reference the
tests compare against, and is used where numba is not installed.
"""
import numpy as np

try:
    import numba
except ImportError:  # pragma: no cover - numba is in requirements.txt; numpy remains correct
    numba = None

prange = numba.prange if numba is not None else range


def _encode_into(points, origin, cell, cells, candidates, lower_bounds, centre_a, centre_b, k, two_sigma2,
                 pixels_per_image, bins, out, written, clear_written):
    """points P×2 float32 → out (flat N×Q×HW float32) and written (P·K flat indices). out must
    be zero except, when clear_written, at the indices ``written`` holds from the last call,
    which are cleared first (image by image: each image's entries lie in its own part of out).
    Same candidates, float32 distances and tie order (distance, then bin index) as
    SoftEncoder.nearest, so the result equals the numpy path's.

    A cell's candidates are in order of distance from its middle, and lower_bounds holds the
    least squared distance each can have from any point of the cell: once that exceeds the K-th
    best so far, no later candidate can enter."""
    width = candidates.shape[1]
    real_bins = centre_a.shape[0] - 1  # the last entry is the sentinel at infinity
    images = points.shape[0] // pixels_per_image
    for image in prange(images):
        best_d = np.empty(k, dtype=np.float32)
        best_i = np.empty(k, dtype=np.int64)
        weights = np.empty(k, dtype=np.float32)
        if clear_written:
            for entry in range(image * pixels_per_image * k, (image + 1) * pixels_per_image * k):
                out[written[entry]] = 0
        for pixel in range(pixels_per_image):
            p = image * pixels_per_image + pixel
            _encode_pixel(points[p, 0], points[p, 1], p, image, pixel, origin, cell, cells, candidates,
                          lower_bounds, centre_a, centre_b, k, two_sigma2, pixels_per_image, bins, out,
                          written, width, real_bins, best_d, best_i, weights)


def _encode_pixel(a, b, p, image, pixel, origin, cell, cells, candidates, lower_bounds, centre_a,
                  centre_b, k, two_sigma2, pixels_per_image, bins, out, written, width, real_bins,
                  best_d, best_i, weights):
    cell_a = int(np.floor((a - origin[0]) / cell))
    cell_b = int(np.floor((b - origin[1]) / cell))
    inside = 0 <= cell_a < cells[0] and 0 <= cell_b < cells[1]
    for j in range(k):
        best_d[j] = np.float32(np.inf)
        best_i[j] = real_bins + 1
    if inside:
        row = cell_a * cells[1] + cell_b
        count = width
    else:
        row = -1
        count = real_bins
    for c in range(count):
        if inside:
            if lower_bounds[row, c] > best_d[k - 1]:
                break
            index = candidates[row, c]
        else:
            index = c
        if index >= real_bins:
            continue
        da = centre_a[index] - a
        db = centre_b[index] - b
        d = np.float32(da * da) + np.float32(db * db)
        if d > best_d[k - 1] or (d == best_d[k - 1] and index > best_i[k - 1]):
            continue
        j = k - 1
        while j > 0 and (best_d[j - 1] > d or (best_d[j - 1] == d and best_i[j - 1] > index)):
            best_d[j] = best_d[j - 1]
            best_i[j] = best_i[j - 1]
            j -= 1
        best_d[j] = d
        best_i[j] = index
    total = np.float32(0)
    for j in range(k):
        weights[j] = np.exp(-(best_d[j] - best_d[0]) / two_sigma2)
        total += weights[j]
    for j in range(k):
        flat = (image * bins + best_i[j]) * pixels_per_image + pixel
        out[flat] = weights[j] / total
        written[p * k + j] = flat


if numba is not None:
    _encode_pixel = numba.njit(inline="always", error_model="numpy")(_encode_pixel)
    # Images in parallel, one thread per core by default (NUMBA_NUM_THREADS to change): the
    # forward of a Python layer runs while Caffe's BLAS threads wait.
    encode_into = numba.njit(parallel=True, cache=True, error_model="numpy")(_encode_into)
else:
    encode_into = None
