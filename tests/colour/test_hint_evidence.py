"""The class evidence a hint-conditioned net adds to its scores: none without hints; at the hinted
cell the hint's own class; nearer cells surer; cells that look like the hinted one surer than
cells at the same distance that do not; each cell's colour from the hints nearest it."""
import numpy as np

from colornet.colour import hint_evidence, yuv64

STRIDE = hint_evidence.DEFAULTS["stride"]
CLASSES = 64


def _hint_map(side, patches):
    """patches: (top, left, size, class) on a side×side photo → 1×3×side×side hint map."""
    offsets = yuv64.Codec().class_uv_offsets / 128
    hints = np.zeros((1, 3, side, side), np.float32)
    for top, left, size, label in patches:
        hints[0, :2, top:top + size, left:left + size] = offsets[label][:, None, None]
        hints[0, 2, top:top + size, left:left + size] = 1
    return hints


def _kind(evidence, kind):
    return evidence[0, kind * CLASSES:(kind + 1) * CLASSES]


def test_no_hints_no_evidence_and_no_confidence():
    features = np.random.default_rng(0).random((2, 5, 16, 16)).astype(np.float32)
    evidence, confidence = hint_evidence.evidence(np.zeros((2, 3, 64, 64), np.float32), features)
    assert evidence.shape == (2, 4 * CLASSES, 16, 16) and confidence.shape == (2, 4, 16, 16)
    assert not evidence.any() and not confidence.any()


def test_the_hinted_cell_gets_its_hints_class_and_nowhere_else_for_here():
    features = np.ones((1, 5, 16, 16), np.float32)
    evidence, confidence = hint_evidence.evidence(_hint_map(64, [(20, 32, 4, 10)]), features)
    here = _kind(evidence, 0)
    assert np.argmax(here[:, 5, 8]) == 10 and here[10, 5, 8] == 0
    assert confidence[0, 0, 5, 8] == 1 and confidence[0, 0].sum() == 1
    near = _kind(evidence, 1)
    assert np.argmax(near[:, 0, 0]) == 10  # the only hint's class everywhere, less surely far away
    assert confidence[0, 1, 5, 8] > confidence[0, 1, 5, 12] > confidence[0, 1, 15, 0] > 0


def test_cells_alike_the_hinted_one_are_surer_than_unlike_ones_at_the_same_distance():
    features = np.zeros((1, 2, 16, 16), np.float32)
    features[0, 0, :, :8] = 1   # the left half is one "object"
    features[0, 1, :, 8:] = 1   # the right half another
    evidence, confidence = hint_evidence.evidence(_hint_map(64, [(32, 24, 4, 20)]), features)
    # hinted cell (8, 6): (8, 2) is 4 cells away on its own side, (8, 10) 4 cells away across
    for kind in (2, 3):
        assert confidence[0, kind, 8, 2] > 5 * confidence[0, kind, 8, 10]
    assert confidence[0, 1, 8, 2] == confidence[0, 1, 8, 10]  # "near" sees distance only


def test_each_cell_leans_to_the_colour_of_the_hints_nearest_it():
    features = np.ones((1, 3, 16, 16), np.float32)
    hints = _hint_map(64, [(0, 0, 4, 0), (60, 60, 4, 63)])  # opposite corners, opposite colours
    evidence, _ = hint_evidence.evidence(hints, features, {"near": 0.1})
    near = _kind(evidence, 1)
    assert np.argmax(near[:, 1, 1]) == 0 and np.argmax(near[:, 14, 14]) == 63


def test_class_places_are_one_step_apart_on_the_class_grid():
    places, levels = hint_evidence.class_places()
    assert len(levels) == 8
    np.testing.assert_array_equal(places[9], [1, 1])
    np.testing.assert_array_equal(places[63], [7, 7])
