"""The YUV-64 codec against the spec's bin table and a scalar reference."""
import numpy as np
import pytest

from layers import yuv64

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
    assert [int(v) for v in table] == [yuv64.encode_component_scalar(r, mu, bits) for r in range(256)]
    assert yuv64.decode_table(mu, bits).tolist() == [yuv64.decode_component_scalar(c, mu, bits)
                                                      for c in range(1 << bits)]
    codec = yuv64.Codec(mu, bits)
    u, v = np.meshgrid(np.arange(256, dtype=np.uint8), np.arange(256, dtype=np.uint8))
    labels = codec.encode_uv(u, v)
    expected = np.array([[(yuv64.encode_component_scalar(a, mu, bits) << bits) | yuv64.encode_component_scalar(b, mu, bits)
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
