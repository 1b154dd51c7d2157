"""Colour hints: a few points where the user says what colour a thing is, spread over the photo
along its own luminance, on top of the net's colours.

Propagation is Levin, Lischinski and Weiss's (2004, "Colorization using Optimization"): each
pixel's chroma is the affinity-weighted mean of its 3×3 neighbours', affinities from the
luminance (similar luminance, similar colour), hinted pixels fixed. To that we add the net as a
weak prior: each free pixel is also pulled towards the net's chroma with weight `prior_weight`, so
that far from every hint the photo keeps the net's colours, near a hint it takes the hint's, and
colour follows edges in between. With prior_weight 0 and the chroma 0 this is Levin's method from
grey, the classic no-learning baseline bench/bench_hints.py measures against, and the default for
a model without a hint net. With one (colorize/hint_net.py) the net's colours are those of the
hint net, which saw the hints, and its weight grows with the distance from the hints over a reach
per hint (prior_weights), both from the model card.

The solve is done on a grid of at most HINT_GRID_SIDE pixels a side (a sparse LU factorisation,
0.4 s at 256×256 here; with a prior, BiCGSTAB started from the net's colours); the pipeline brings the result to full size with its guided
upsampling, as it does the net's own chroma.
"""
import dataclasses
import json
import re

import cv2
import numpy as np

from colornet.colorize import families
from colornet.colorize.settings import DEFAULT_HINT_WEIGHT

HINT_GRID_SIDE = 256
DEFAULT_HINT_SIZE = 6        # ideepcolor's sweep: 6×6 patches
MAX_HINTS = 1000             # a client's list is bounded: the solve's cost grows with it
SOLVE_TOLERANCE = 1e-5      # relative residual: within 0.005 of a level of the exact solve at 256²
HEX_COLOUR = re.compile(r"^#([0-9a-fA-F]{6})$")


class HintError(ValueError):
    """A hints file or field that cannot be used; the message names the point."""


@dataclasses.dataclass
class Hint:
    """A patch of `size`×`size` photo pixels centred on (x, y) whose colour is `chroma` (the
    model family's: centred UV offsets for yuv64, ab for lab313)."""
    x: float
    y: float
    chroma: tuple
    size: int = DEFAULT_HINT_SIZE


def colour_chroma(bgr, family):
    """The chroma of one 8-bit BGR colour in the family's space (its luminance is dropped)."""
    return families.family(family).chroma_of(bgr)


def parse_hints(text, width, height, family, name="hints"):
    """JSON text: a list of {"x": …, "y": …, "color": "#rrggbb", "size": …} in the photo's own
    pixels (x right, y down; size optional) → [Hint]. HintError names `name` and the point."""
    try:
        points = json.loads(text)
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise HintError(f"{name}: not JSON ({error})") from None
    except RecursionError:
        raise HintError(f"{name}: nested too deeply (a list of points is two levels deep)") from None
    if not isinstance(points, list):
        raise HintError(f"{name}: must be a JSON list of points like {{\"x\": 412, \"y\": 230, \"color\": \"#5a8f3c\"}}")
    if len(points) > MAX_HINTS:
        raise HintError(f"{name}: {len(points)} points, more than the {MAX_HINTS} allowed")
    hints = []
    for index, point in enumerate(points):
        where = f"{name}: point {index + 1}"
        if not isinstance(point, dict) or not {"x", "y", "color"} <= set(point):
            raise HintError(f"{where}: needs x, y and color, e.g. {{\"x\": 412, \"y\": 230, \"color\": \"#5a8f3c\"}}")
        unknown = set(point) - {"x", "y", "color", "size"}
        if unknown:
            raise HintError(f"{where}: unknown key(s) {', '.join(sorted(unknown))} (x, y, color, size)")
        x, y, size = point["x"], point["y"], point.get("size", DEFAULT_HINT_SIZE)
        if not all(isinstance(v, (int, float)) and not isinstance(v, bool) and np.isfinite(v) for v in (x, y, size)):
            raise HintError(f"{where}: x, y and size must be numbers")
        if not (0 <= x < width and 0 <= y < height):
            raise HintError(f"{where}: ({x}, {y}) is outside the {width}×{height} photo")
        if not 1 <= size <= max(width, height):
            raise HintError(f"{where}: size {size} must be between 1 and the photo's side")
        match = HEX_COLOUR.match(point["color"]) if isinstance(point["color"], str) else None
        if not match:
            raise HintError(f"{where}: color {point['color']!r} is not #rrggbb")
        red, green, blue = bytes.fromhex(match.group(1))
        hints.append(Hint(float(x), float(y), colour_chroma((blue, green, red), family), int(round(size))))
    return hints


def patch_on_grid(hint, photo_shape, grid_shape):
    """The rows and columns of a hint's patch on a grid of grid_shape over a photo of photo_shape
    (at least one grid pixel)."""
    scale_y, scale_x = grid_shape[0] / photo_shape[0], grid_shape[1] / photo_shape[1]
    half = hint.size / 2
    rows = _span(hint.y - half, hint.y + half, scale_y, grid_shape[0])
    cols = _span(hint.x - half, hint.x + half, scale_x, grid_shape[1])
    return rows, cols


def _span(low, high, scale, limit):
    start = int(np.floor(max(low, 0) * scale))
    stop = max(start + 1, int(np.ceil(min(high, limit / scale) * scale)))
    start = min(start, limit - 1)
    return slice(start, min(stop, limit))


def fixed_patches(hints, photo_shape, grid):
    """(mask, chroma) on a grid of shape `grid`: where the hints' patches fall, and their chroma."""
    mask = np.zeros(grid, bool)
    chroma = np.zeros((2,) + tuple(grid), np.float32)
    for hint in hints:
        rows, cols = patch_on_grid(hint, photo_shape, grid)
        mask[rows, cols] = True
        chroma[:, rows, cols] = np.float32(hint.chroma)[:, None, None]
    return mask, chroma


def grid_shape(photo_shape, side=HINT_GRID_SIDE):
    """The solve's grid: the photo's shape brought down to at most `side` a side (never up)."""
    height, width = photo_shape
    scale = min(1.0, side / max(height, width))
    return max(1, round(height * scale)), max(1, round(width * scale))


def affinity_weights(guide):
    """guide h×w or h×w×C (0..1) → (neighbour offsets, h×w×8 weights) of Levin's 3×3 affinities:
    each row normalised to sum 1; σ² from the window's variance (summed over the channels), at
    least what keeps the most similar neighbour's weight at 0.01 or more. More channels than the
    luminance (the net's colours, hint_transfer) keep colour from crossing where they change."""
    guide = guide if guide.ndim == 3 else guide[..., None]
    height, width, _ = guide.shape
    padded = np.pad(guide, ((1, 1), (1, 1), (0, 0)), mode="edge")
    offsets = [(dy, dx) for dy in (-1, 0, 1) for dx in (-1, 0, 1) if (dy, dx) != (0, 0)]
    neighbours = np.stack([padded[1 + dy:1 + dy + height, 1 + dx:1 + dx + width] for dy, dx in offsets], axis=2)
    window = np.concatenate([neighbours, guide[:, :, None]], axis=2)
    variance = window.var(axis=2).sum(axis=-1)
    squared = ((neighbours - guide[:, :, None]) ** 2).sum(axis=-1)
    sigma2 = np.maximum(np.maximum(0.6 * variance, -squared.min(axis=-1) / np.log(0.01)), 2e-6)
    weights = np.exp(-squared / (2 * sigma2[..., None]))
    # Neighbours outside the photo (edge padding) take no part.
    ys, xs = np.mgrid[0:height, 0:width]
    for k, (dy, dx) in enumerate(offsets):
        outside = (ys + dy < 0) | (ys + dy >= height) | (xs + dx < 0) | (xs + dx >= width)
        weights[..., k][outside] = 0
    weights /= weights.sum(axis=-1, keepdims=True)
    return offsets, weights


def propagate(guide, fixed_mask, fixed_chroma, prior=None, prior_weight=0.0):
    """Solve for chroma 2×h×w: for each free pixel r, (1 + λ_r)·c_r − Σ_s w_rs c_s = λ_r·prior_r;
    fixed pixels keep fixed_chroma. guide h×w or h×w×C (0..1), fixed_mask h×w bool, fixed_chroma 2×h×w,
    prior 2×h×w (zeros if None), λ = prior_weight ≥ 0, one number or one per pixel (h×w)
    (0: Levin's method; needs a fixed pixel)."""
    from scipy.sparse import csc_matrix
    from scipy.sparse.linalg import bicgstab, splu
    height, width = guide.shape[:2]
    count = height * width
    prior = np.zeros((2, height, width), np.float64) if prior is None else prior.astype(np.float64)
    weight_map = np.broadcast_to(np.asarray(prior_weight, np.float64), (height, width)).ravel()
    if not fixed_mask.any() and not weight_map.any():
        return np.zeros((2, height, width), np.float32)
    offsets, weights = affinity_weights(guide.astype(np.float64))
    index = np.arange(count).reshape(height, width)
    free = ~fixed_mask.ravel()
    rows, cols, values = [np.arange(count)], [np.arange(count)], [np.where(free, 1.0 + weight_map, 1.0)]
    padded = np.pad(index, 1, mode="edge")
    for k, (dy, dx) in enumerate(offsets):
        neighbour = padded[1 + dy:1 + dy + height, 1 + dx:1 + dx + width].ravel()
        weight = weights[..., k].ravel()
        use = free & (weight > 0)
        rows.append(np.flatnonzero(use))
        cols.append(neighbour[use])
        values.append(-weight[use])
    matrix = csc_matrix((np.concatenate(values), (np.concatenate(rows), np.concatenate(cols))), shape=(count, count))
    right = np.where(free, weight_map * prior.reshape(2, -1), fixed_chroma.reshape(2, -1).astype(np.float64))
    if weight_map.min() > 0:
        # Every free row is diagonally dominant by λ: BiCGSTAB from the net's colours converges in
        # tens of iterations (0.05 s at 256², against 0.4–0.6 s for the LU factorisation).
        start = np.where(free, prior.reshape(2, -1), fixed_chroma.reshape(2, -1))
        rows_first = matrix.tocsr()
        solved = [bicgstab(rows_first, right[channel], x0=start[channel], rtol=SOLVE_TOLERANCE, maxiter=2000)
                  for channel in range(2)]
        if all(info == 0 for _, info in solved):
            return np.stack([x for x, _ in solved]).reshape(2, height, width).astype(np.float32)
    solver = splu(matrix, permc_spec="MMD_AT_PLUS_A")  # of SuperLU's orderings the quickest here
    return np.stack([solver.solve(right[channel]) for channel in range(2)]).reshape(2, height, width).astype(np.float32)


def prior_weights(fixed_mask, prior_weight, reach=0):
    """λ per pixel: prior_weight·(1 − exp(−d² / 2·reach²)), d the distance in grid pixels to the
    nearest hinted one: near the hints their propagation alone (Levin's, edges kept), far from
    them the net's colours. reach 0: prior_weight everywhere."""
    if not reach or not fixed_mask.any():
        return prior_weight
    distance = cv2.distanceTransform((~fixed_mask).astype(np.uint8), cv2.DIST_L2, 5)
    return prior_weight * (1.0 - np.exp(-distance.astype(np.float64) ** 2 / (2.0 * reach ** 2)))


def hinted_chroma(lum, chroma, hints, family, prior_weight=DEFAULT_HINT_WEIGHT, side=HINT_GRID_SIDE, reach=0):
    """Full-resolution luminance H×W + the net's chroma 2×h×w + hints → chroma 2×gh×gw on the
    solve's grid (to be brought to full size like the net's). With no hints: the net's chroma.
    With prior_weight 0 the net's chroma is not read and may be None. reach (grid pixels per
    hint, 0: none): the net's weight grows from 0 at the hints to prior_weight beyond about
    reach × the number of hints (prior_weights)."""
    if not hints:
        return chroma
    shape = grid_shape(lum.shape, side)
    guide = cv2.resize(lum, shape[::-1], interpolation=cv2.INTER_AREA).astype(np.float32)
    guide /= families.family(family).lum_range
    prior = None if prior_weight == 0 else np.stack(
        [cv2.resize(c, shape[::-1], interpolation=cv2.INTER_CUBIC) for c in chroma.astype(np.float32)])
    fixed_mask, fixed_chroma = fixed_patches(hints, lum.shape, shape)
    # The reach grows with the number of hints: one hint says what one thing is, many say what
    # the photo's colours are, and their propagation decides more of it (chosen on val:
    # docs/hints.md, where a fixed reach either spread one click over the whole photo or held
    # ten points' colours back from where they belonged).
    return propagate(guide, fixed_mask, fixed_chroma, prior, prior_weights(fixed_mask, prior_weight, reach * len(hints)))
