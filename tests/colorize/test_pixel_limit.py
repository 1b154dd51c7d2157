"""The pixel limit on every format whose header we read: small files that claim huge pictures
(decompression bombs) are refused from the header, before the decoder ever sees them."""
import struct

import cv2
import numpy as np
import pytest

from colornet import photo_io
from colornet.photo_io import PixelLimitExceeded, decode_bgr, header_size

SIDE = 30000  # 900 MP: far over the 50 MP default


def small_image():
    return np.random.default_rng(0).integers(0, 256, (16, 24, 3), dtype=np.uint8)


def jpeg_bomb():
    """A real JPEG whose frame header (SOF) says SIDE×SIDE."""
    payload = bytearray(cv2.imencode(".jpg", small_image())[1].tobytes())
    at = payload.index(b"\xff\xc0")
    payload[at + 5:at + 9] = struct.pack(">HH", SIDE, SIDE)
    return bytes(payload)


def webp_vp8x_bomb():
    """An extended WebP: a VP8X chunk with a SIDE×SIDE canvas before a real lossy frame."""
    frame = cv2.imencode(".webp", small_image())[1].tobytes()[12:]  # its VP8 chunk
    vp8x = b"VP8X" + struct.pack("<I", 10) + b"\x00\x00\x00\x00" + (SIDE - 1).to_bytes(3, "little") * 2
    body = b"WEBP" + vp8x + frame
    return b"RIFF" + struct.pack("<I", len(body)) + body


def webp_vp8l_bomb():
    """A lossless WebP whose VP8L header says 16384×16384 (its 14-bit fields' largest)."""
    payload = bytearray(cv2.imencode(".webp", small_image(), [cv2.IMWRITE_WEBP_QUALITY, 101])[1].tobytes())
    assert payload[12:16] == b"VP8L"
    bits = int.from_bytes(payload[21:25], "little")
    bits = (bits & ~0xFFFFFFF) | (16383 << 14) | 16383
    payload[21:25] = bits.to_bytes(4, "little")
    return bytes(payload)


def tiff_big_endian_bomb():
    """A big-endian ("MM") TIFF whose first directory says SIDE×SIDE, strip data a few bytes."""
    entries = [(256, 4, 1, SIDE), (257, 4, 1, SIDE), (258, 3, 1, 8 << 16), (259, 3, 1, 1 << 16),
               (262, 3, 1, 1 << 16), (273, 4, 1, 8 + 2 + 12 * 8 + 4), (278, 4, 1, SIDE), (279, 4, 1, 16)]
    directory = struct.pack(">H", len(entries)) + b"".join(struct.pack(">HHII", *entry) for entry in entries)
    return b"MM\x00*" + struct.pack(">I", 8) + directory + b"\x00\x00\x00\x00" + bytes(16)


BOMBS = {"jpeg": (jpeg_bomb, (SIDE, SIDE)), "webp-vp8x": (webp_vp8x_bomb, (SIDE, SIDE)),
         "webp-vp8l": (webp_vp8l_bomb, (16384, 16384)), "tiff-big-endian": (tiff_big_endian_bomb, (SIDE, SIDE))}


@pytest.mark.parametrize("kind", BOMBS)
def test_a_bomb_is_refused_from_its_header_and_never_decoded(kind, monkeypatch):
    make, size = BOMBS[kind]
    payload = make()
    assert len(payload) < 10_000 and header_size(payload) == size

    def decoder_called(*args, **kwargs):
        raise AssertionError("the decoder was called on a file over the pixel limit")
    monkeypatch.setattr(photo_io.cv2, "imdecode", decoder_called)
    with pytest.raises(PixelLimitExceeded, match=rf"{kind}: {size[0]}×{size[1]} is .* over the pixel limit of 50 MP"):
        decode_bgr(payload, kind)
