"""The YUV-64 codec against the spec's bin table and a scalar reference."""
import math

import numpy as np
import pytest

from colornet.colour import yuv64

# code → (first offset, last offset, decoded offset), offsets = raw − 128 (spec table).
SPEC_BINS = {0: (-128, -128, -128), 1: (-127, -65, -64), 2: (-64, -30, -29), 3: (-29, -11, -10),
             4: (-10, 10, 0), 5: (11, 29, 10), 6: (30, 64, 29), 7: (65, 127, 64)}


def test_encode_table_reproduces_spec_bins_for_all_256_values():
    table = yuv64.encode_table()
    for raw in range(256):
        offset = raw - 128
        expected = next(code for code, (low, high, _) in SPEC_BINS.items() if low <= offset <= high)
        assert table[raw] == expected, f"raw {raw}"


def test_decode_table_reproduces_spec():
    assert yuv64.decode_table().tolist() == [SPEC_BINS[c][2] for c in range(8)]


def test_neutral_grey_is_class_36():
    codec = yuv64.Codec()
    assert codec.encode_uv(np.array([128], np.uint8), np.array([128], np.uint8))[0] == 36
    assert codec.grey_class == yuv64.grey_class() == 36
    grey = np.full((4, 4, 3), 77, np.uint8)
    assert set(codec.encode_bgr(grey)[1].ravel()) == {36}


@pytest.mark.parametrize("mu", [1.0, 10.0, 255.0])
@pytest.mark.parametrize("bits", [1, 2, 3, 4])
def test_vectorised_codec_equals_scalar_reference_on_every_input(mu, bits):
    table = yuv64.encode_table(mu, bits)
    assert [int(v) for v in table] == [encode_component_scalar(r, mu, bits) for r in range(256)]
    assert yuv64.decode_table(mu, bits).tolist() == [decode_component_scalar(c, mu, bits)
                                                      for c in range(1 << bits)]
    codec = yuv64.Codec(mu, bits)
    u, v = np.meshgrid(np.arange(256, dtype=np.uint8), np.arange(256, dtype=np.uint8))
    labels = codec.encode_uv(u, v)
    expected = np.array([[(encode_component_scalar(a, mu, bits) << bits) | encode_component_scalar(b, mu, bits)
                          for a in range(256)] for b in range(256)])
    np.testing.assert_array_equal(labels, expected)
    assert labels.max() < codec.num_classes


def test_packing_puts_u_in_high_bits_and_decoding_inverts_the_bins():
    codec = yuv64.Codec()
    label = codec.encode_uv(np.array([255], np.uint8), np.array([0], np.uint8))[0]
    assert label == (7 << 3) | 0 and label & 0x38 == 0x38 and label & 0x07 == 0
    u, v = codec.decode_uv(np.arange(64))
    for code in range(64):
        assert u[code] == 128 + SPEC_BINS[code >> 3][2] and v[code] == 128 + SPEC_BINS[code & 7][2]
    # As the spec's table shows, truncation puts each decoded value on the inner edge of the next
    # bin toward grey: re-encoding moves codes 1..3 and 5..7 one step toward 4 (0 and 4 stay).
    toward_grey = {0: 0, 1: 2, 2: 3, 3: 4, 4: 4, 5: 4, 6: 5, 7: 6}
    expected = [(toward_grey[c >> 3] << 3) | toward_grey[c & 7] for c in range(64)]
    np.testing.assert_array_equal(codec.encode_uv(u, v), expected)


def test_bad_parameters_are_rejected():
    with pytest.raises(ValueError, match="mu must be positive"):
        yuv64.Codec(mu=0)
    with pytest.raises(ValueError, match="bits per component"):
        yuv64.Codec(bits=5)


def test_class_prior_leaves_out_the_ignored_class():
    counts = np.zeros(64)
    counts[[36, 29, 5]] = [500, 300, 100]
    prior = yuv64.class_prior(counts, 36)
    assert prior[36] == 0 and prior.sum() == pytest.approx(1.0)
    assert prior[29] == pytest.approx(0.75) and prior[5] == pytest.approx(0.25)
    with pytest.raises(ValueError, match="no pixel outside the ignored class"):
        yuv64.class_prior(np.eye(64)[36] * 10, 36)


def test_class_boost_weights_rebalance_the_present_classes():
    prior = np.zeros(64)
    prior[[29, 30, 5, 60]] = [0.6, 0.3, 0.09, 0.01]
    weights = yuv64.class_boost_weights(prior, 0.5, ignore_class=36)
    assert (prior * weights).sum() == pytest.approx(1.0)
    assert weights[60] > weights[5] > weights[30] > weights[29]  # rarer pulls harder
    # Q is the 4 present classes: the rarest gets 1/(0.5·0.01 + 0.5/4), before normalisation.
    raw = 1 / (0.5 * prior + 0.5 / 4)
    assert weights[60] / weights[29] == pytest.approx(raw[60] / raw[29])
    assert weights[36] == 0
    uniform = yuv64.class_boost_weights(prior, 1.0)
    np.testing.assert_allclose(uniform, 1.0)  # λ = 1: every class alike, the plain loss
    with pytest.raises(ValueError, match="lambda"):
        yuv64.class_boost_weights(prior, 1.5)
    with pytest.raises(ValueError, match="distribution"):
        yuv64.class_boost_weights(prior * 3)


def test_class_boost_looks_up_each_pixels_class():
    weights = np.arange(64, dtype=np.float64) / 10
    labels = np.array([[[[0, 36], [63, 7]]]], dtype=np.float32)  # Caffe hands labels over as floats
    boost = yuv64.class_boost(labels, weights)
    assert boost.dtype == np.float32 and boost.shape == (1, 1, 2, 2)
    np.testing.assert_allclose(boost[0, 0], [[0.0, 3.6], [6.3, 0.7]], rtol=1e-6)
    with pytest.raises(ValueError, match=r"labels outside 0\.\.63"):
        yuv64.class_boost(labels + 1, weights)


# Scalar references of the spec's codec, one value at a time (test oracles).
def compand_scalar(offset, mu=yuv64.DEFAULT_MU):
    """μ-law of one centred value −128..127, truncated toward zero (scalar reference)."""
    if offset == 0:
        return 0
    magnitude = 128.0 * math.log(1.0 + mu * abs(offset) / 128.0) / math.log(1.0 + mu)
    return int(math.copysign(int(magnitude), offset))


def encode_component_scalar(raw, mu=yuv64.DEFAULT_MU, bits=yuv64.DEFAULT_BITS):
    """Quantised code 0..2**bits−1 of one raw U or V byte (scalar reference of the spec)."""
    yuv64._check(mu, bits)
    step = 256 >> bits
    companded = compand_scalar(int(raw) - 128, mu)
    return int(companded / step) + (1 << (bits - 1))


def decode_component_scalar(code, mu=yuv64.DEFAULT_MU, bits=yuv64.DEFAULT_BITS):
    """Centred offset −128..127 that a code decodes to (scalar reference of the spec)."""
    yuv64._check(mu, bits)
    step = 256 >> bits
    companded = (int(code) - (1 << (bits - 1))) * step
    if companded == 0:
        return 0
    magnitude = (math.exp(abs(companded) / 128.0 * math.log(1.0 + mu)) - 1.0) * 128.0 / mu
    return int(math.copysign(int(magnitude), companded))
