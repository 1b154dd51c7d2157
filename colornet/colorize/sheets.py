"""Pictures of results: grey | result (| original) side by side, and a before/after contact sheet."""
import cv2
import numpy as np


def is_grey(image):
    return image.ndim == 2 or bool(np.array_equal(image[..., 0], image[..., 1])
                                   and np.array_equal(image[..., 1], image[..., 2]))


def as_bgr(image):
    return cv2.cvtColor(image, cv2.COLOR_GRAY2BGR) if image.ndim == 2 else image


def side_by_side(grey, result, original=None):
    panels = [cv2.cvtColor(cv2.cvtColor(grey, cv2.COLOR_BGR2GRAY), cv2.COLOR_GRAY2BGR), result]
    if original is not None:
        panels.append(original)
    gap = np.full((grey.shape[0], max(4, grey.shape[1] // 100), 3), 255, np.uint8)
    row = [panels[0]]
    for panel in panels[1:]:
        row += [gap, panel]
    return np.hstack(row)


def contact_sheet(pairs, height=180, gap=6):
    """Before | after pairs laid out like justified text: each pair scaled to a common height,
    pairs filled into rows of about the same width, each row scaled to fill that width exactly,
    so the sheet has no empty margins whatever the photos' aspect ratios."""
    tiles = []
    for before, after in pairs:
        size = (max(1, round(before.shape[1] * height / before.shape[0])), height)
        grey = cv2.cvtColor(cv2.cvtColor(before, cv2.COLOR_BGR2GRAY), cv2.COLOR_GRAY2BGR)
        tiles.append(np.hstack([cv2.resize(grey, size, interpolation=cv2.INTER_AREA),
                                np.full((height, gap, 3), 255, np.uint8),
                                cv2.resize(after, size, interpolation=cv2.INTER_AREA)]))
    # Rows: about as many as make the sheet 1.5 times as wide as tall; tiles split among them in
    # order at the nearest cumulative widths, so rows are about equally long before scaling.
    widths = np.cumsum([tile.shape[1] + gap for tile in tiles])
    count = max(1, min(len(tiles), round(np.sqrt(widths[-1] / (1.5 * (height + gap))))))
    cuts = [0] + [int(np.argmin(np.abs(widths - widths[-1] * k / count))) + 1 for k in range(1, count)] + [len(tiles)]
    rows = [tiles[a:b] for a, b in zip(cuts, cuts[1:]) if b > a]
    width = max(sum(tile.shape[1] + gap for tile in row) - gap for row in rows)
    lines = []
    for row in rows:
        spacer = np.full((height, gap, 3), 255, np.uint8)
        joined = np.hstack([part for tile in row for part in (tile, spacer)][:-1])
        line = cv2.resize(joined, (width, max(1, round(height * width / joined.shape[1]))), interpolation=cv2.INTER_AREA)
        lines.append(np.pad(line, ((0, gap), (0, 0), (0, 0)), constant_values=255))
    return np.vstack(lines)[:-gap]
