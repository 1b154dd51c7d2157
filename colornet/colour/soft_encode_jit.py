"""The soft encoding's per-pixel loop, compiled by Numba: what SoftEncoder.encode does with a
dozen whole-array numpy passes (gather, distances, packed-key partition, sort, exp, scatter), done
in one pass per pixel with the K nearest kept in a K-entry scratch array.

numba is used because the work is a small selection per pixel, which numpy can only express as
passes over N×W temporaries: at K = 10 the compiled loop is about 3× faster than our best numpy
version on one thread and 3–5× on two (bench/RESULTS.md). The numpy version stays as the reference the
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
    # The K nearest are kept unsorted with the position of the worst (by distance, then bin
    # index): a closer candidate replaces it. A cell's first K candidates are real bins, its
    # sentinels come last, and after the first K only one or two candidates pass the lower
    # bound on real photos, so this beats keeping the K sorted (an insertion per candidate).
    cell_a = int(np.floor((a - origin[0]) / cell))
    cell_b = int(np.floor((b - origin[1]) / cell))
    if 0 <= cell_a < cells[0] and 0 <= cell_b < cells[1]:
        row = cell_a * cells[1] + cell_b
        for j in range(k):
            index = candidates[row, j]
            best_d[j] = _squared_distance(centre_a[index], centre_b[index], a, b)
            best_i[j] = index
        worst = _worst(best_d, best_i, k)
        for c in range(k, width):
            index = candidates[row, c]
            if lower_bounds[row, c] > best_d[worst] or index >= real_bins:
                break
            worst = _offer(index, a, b, centre_a, centre_b, best_d, best_i, worst, k)
    else:  # far outside every bin (no 8-bit colour gets here): all of them
        for j in range(k):
            best_d[j] = _squared_distance(centre_a[j], centre_b[j], a, b)
            best_i[j] = j
        worst = _worst(best_d, best_i, k)
        for index in range(k, real_bins):
            worst = _offer(index, a, b, centre_a, centre_b, best_d, best_i, worst, k)
    nearest = best_d[0]
    for j in range(1, k):
        nearest = min(nearest, best_d[j])
    total = np.float32(0)
    for j in range(k):
        weights[j] = np.exp(-(best_d[j] - nearest) / two_sigma2)  # shifted: no underflow far out
        total += weights[j]
    base = image * bins * pixels_per_image + pixel
    for j in range(k):
        flat = base + best_i[j] * pixels_per_image
        out[flat] = weights[j] / total
        written[p * k + j] = flat


def _squared_distance(centre_a, centre_b, a, b):
    # float32 throughout, summed as SoftEncoder.nearest does, so ties fall the same way.
    da = centre_a - a
    db = centre_b - b
    return np.float32(da * da) + np.float32(db * db)


def _offer(index, a, b, centre_a, centre_b, best_d, best_i, worst, k):
    """Bin ``index`` replaces the worst of the K kept if it is closer (ties: lower index);
    returns the position of the worst afterwards."""
    d = _squared_distance(centre_a[index], centre_b[index], a, b)
    if d < best_d[worst] or (d == best_d[worst] and index < best_i[worst]):
        best_d[worst], best_i[worst] = d, index
        return _worst(best_d, best_i, k)
    return worst


def _worst(best_d, best_i, k):
    worst = 0
    for j in range(1, k):
        if best_d[j] > best_d[worst] or (best_d[j] == best_d[worst] and best_i[j] > best_i[worst]):
            worst = j
    return worst


if numba is not None:
    _squared_distance = numba.njit(inline="always", error_model="numpy")(_squared_distance)
    _worst = numba.njit(inline="always", error_model="numpy")(_worst)
    _offer = numba.njit(inline="always", error_model="numpy")(_offer)
    _encode_pixel = numba.njit(inline="always", error_model="numpy")(_encode_pixel)
    # Images in parallel, one thread per core by default (NUMBA_NUM_THREADS to change): the
    # forward of a Python layer runs while Caffe's BLAS threads wait.
    encode_into = numba.njit(parallel=True, cache=True, error_model="numpy")(_encode_into)
else:
    encode_into = None
