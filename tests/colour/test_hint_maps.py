"""Hint maps for a hint-conditioned net: ideepcolor's training draws (how many patches, where,
how large, which colour) and the user's points rendered the same way."""
import numpy as np

from colornet.colour import hint_maps, yuv64
from colornet.colorize.hints import Hint


def _labels_of(bgr):
    return yuv64.Codec().encode_bgr(bgr)[1]


def test_class_chroma_is_the_class_centre_over_128():
    codec = yuv64.Codec()
    labels = np.arange(64).reshape(1, 8, 8)
    chroma = hint_maps.class_chroma(labels)
    assert chroma.shape == (1, 2, 8, 8)
    np.testing.assert_allclose(chroma[0, :, 1, 2], codec.class_uv_offsets[10] / 128)
    assert np.all(chroma[0, :, 4, 4] == 0)  # class 36, grey


def test_the_number_of_patches_is_geometric_from_zero_with_mean_seven():
    rng = np.random.default_rng(0)
    chroma = np.ones((400, 2, 64, 64), np.float32) * 0.25
    hints = hint_maps.simulate(chroma, rng)
    none = np.mean([hints[i, 2].sum() == 0 for i in range(len(hints))])
    assert 0.08 <= none <= 0.18  # P(0 patches) = 1/8
    assert np.all(hints[:, :2][hints[:, :2] != 0] == 0.25)  # each patch carries the chroma there
    assert np.all(np.isin(hints[:, 2], (0, 1)))


def test_patches_gather_near_the_centre_and_carry_their_mean_chroma():
    rng = np.random.default_rng(1)
    chroma = np.zeros((200, 2, 96, 96), np.float32)
    chroma[:, 0, :, :48] = 0.5  # left half: U 0.5, right half: 0
    hints = hint_maps.simulate(chroma, rng, max_side=1)
    mask = hints[:, 2]
    rows, cols = np.nonzero(mask.sum(axis=0))
    weights = mask.sum(axis=0)[rows, cols]
    centre = np.average(rows, weights=weights), np.average(cols, weights=weights)
    assert abs(centre[0] - 48) < 4 and abs(centre[1] - 48) < 4
    spread = np.sqrt(np.average((rows - 48) ** 2, weights=weights))
    assert 16 < spread < 32  # a quarter of the side, clipped
    # 1-pixel patches copy the true chroma exactly.
    assert np.all(hints[:, 0][mask == 1] == chroma[:, 0][mask == 1])
    # A 9-pixel patch straddling the edge between the halves gets its mean.
    wide = hint_maps.simulate(chroma[:50], np.random.default_rng(2), p=0.5)
    values = set(np.unique(wide[:, 0][wide[:, 2] == 1]).round(4))
    assert any(0 < value < 0.5 for value in values)


def test_a_users_point_renders_like_a_training_patch_on_the_nets_grid():
    """A 6-pixel hint at (100, 50) on a 400×200 photo, rendered on a 224×224 grid, is a patch of
    its chroma at the scaled place; elsewhere all three channels are 0."""
    point = Hint(100, 50, (40, -20), 6)
    hints = hint_maps.render([point], 224, 224, scale_y=224 / 200, scale_x=224 / 400)
    ys, xs = np.nonzero(hints[2])
    assert abs(ys.mean() - 56) <= 1 and abs(xs.mean() - 56) <= 1 and 1 <= len(ys) <= 16
    np.testing.assert_allclose(hints[0][hints[2] == 1], 40 / 128)
    np.testing.assert_allclose(hints[1][hints[2] == 1], -20 / 128)
    assert np.all(hints[:, hints[2] == 0] == 0)
