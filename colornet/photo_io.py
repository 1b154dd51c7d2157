"""Reading photos of any kind OpenCV decodes into plain 8-bit BGR."""
import pathlib
import re

import cv2
import numpy as np

IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".webp", ".bmp", ".tif", ".tiff", ".ppm", ".pgm",
                  ".pnm", ".jp2", ".jpe", ".sr", ".ras", ".exr", ".hdr", ".pic"}


class UnreadableImage(ValueError):
    """A file that is not a decodable image; the message names the file and the reason."""


class PixelLimitExceeded(UnreadableImage):
    """An image with more pixels than allowed, found from its header before it is decoded."""


# Photos larger than this are refused unless the caller raises the limit (a 50 MP camera is big;
# a decompression bomb — a small file that decodes to gigabytes — is far bigger).
DEFAULT_MAX_PIXELS = 50_000_000


# JPEG decoding can scale by 1/2, 1/4, 1/8 in the DCT domain: much faster, and no aliasing.
_JPEG_REDUCED = ((8, cv2.IMREAD_REDUCED_COLOR_8), (4, cv2.IMREAD_REDUCED_COLOR_4),
                 (2, cv2.IMREAD_REDUCED_COLOR_2))
_JPEG_SOF_MARKERS = set(range(0xC0, 0xD0)) - {0xC4, 0xC8, 0xCC}


def jpeg_size(payload):
    """(height, width) from a JPEG's SOF segment, or None if it cannot be found."""
    frame = jpeg_frame(payload)
    return frame[:2] if frame else None


def jpeg_frame(payload):
    """(height, width, components) from a JPEG's SOF segment, or None if it cannot be found."""
    offset = 2
    while offset + 9 < len(payload):
        if payload[offset] != 0xFF:
            return None
        marker = payload[offset + 1]
        if marker == 0xFF:
            offset += 1
            continue
        length = int.from_bytes(payload[offset + 2:offset + 4], "big")
        if marker in _JPEG_SOF_MARKERS:
            return (int.from_bytes(payload[offset + 5:offset + 7], "big"),
                    int.from_bytes(payload[offset + 7:offset + 9], "big"), payload[offset + 9])
        offset += 2 + length
    return None


IMAGE_MAGIC = (b"\xff\xd8", b"\x89PNG", b"GIF8", b"BM", b"II*\x00", b"MM\x00*", b"\x00\x00\x00\x0cjP",
               b"\xff\x4f\xff\x51", b"v/1\x01", b"#?RADIANCE", b"#?RGBE", b"\x59\xa6\x6a\x95")


def looks_like_image(path):
    """From the first bytes: a format OpenCV reads as a still image (a WebP is RIFF…WEBP)."""
    try:
        with open(path, "rb") as file:
            head = file.read(16)
    except OSError:
        return True  # let the reader report it
    return head.startswith(IMAGE_MAGIC) or (head[:4] == b"RIFF" and head[8:12] == b"WEBP") or \
        (head[:1] == b"P" and head[1:2] in b"123456")


def check_pixels(width, height, max_pixels, name):
    if max_pixels and width * height > max_pixels:
        raise PixelLimitExceeded(
            f"{name}: {width}×{height} is {width * height / 1e6:.1f} MP, over the pixel limit of "
            f"{max_pixels / 1e6:g} MP (raise it with --max-pixels if the image is genuine)")


def header_size(payload):
    """(width, height) from the header of a PNG, JPEG, WebP, GIF, BMP, TIFF or PNM file, without
    decoding it; None for other formats or a header that cannot be read."""
    try:
        if payload[:8] == b"\x89PNG\r\n\x1a\n":
            return int.from_bytes(payload[16:20], "big"), int.from_bytes(payload[20:24], "big")
        if payload[:2] == b"\xff\xd8":
            size = jpeg_size(payload)
            return (size[1], size[0]) if size else None
        if payload[:4] == b"RIFF" and payload[8:12] == b"WEBP":
            return _webp_size(payload)
        if payload[:6] in (b"GIF87a", b"GIF89a"):
            return int.from_bytes(payload[6:8], "little"), int.from_bytes(payload[8:10], "little")
        if payload[:2] == b"BM":
            return (abs(int.from_bytes(payload[18:22], "little", signed=True)),
                    abs(int.from_bytes(payload[22:26], "little", signed=True)))
        if payload[:4] in (b"II*\x00", b"MM\x00*"):
            return _tiff_size(payload)
        if payload[:1] == b"P" and payload[1:2] in b"123456":
            numbers = re.findall(rb"\d+", re.sub(rb"#[^\n]*", b"", payload[2:512]))
            return (int(numbers[0]), int(numbers[1])) if len(numbers) >= 2 else None
    except (IndexError, ValueError):
        return None
    return None


def _webp_size(payload):
    chunk = payload[12:16]
    if chunk == b"VP8X":
        return int.from_bytes(payload[24:27], "little") + 1, int.from_bytes(payload[27:30], "little") + 1
    if chunk == b"VP8L":
        bits = int.from_bytes(payload[21:25], "little")
        return (bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1
    if chunk == b"VP8 ":
        return int.from_bytes(payload[26:28], "little") & 0x3FFF, int.from_bytes(payload[28:30], "little") & 0x3FFF
    return None


def _tiff_size(payload):
    order = "little" if payload[:2] == b"II" else "big"
    offset = int.from_bytes(payload[4:8], order)
    entries = int.from_bytes(payload[offset:offset + 2], order)
    found = {}
    for entry in range(entries):
        at = offset + 2 + 12 * entry
        tag, kind = int.from_bytes(payload[at:at + 2], order), int.from_bytes(payload[at + 2:at + 4], order)
        if tag in (256, 257):
            width = 2 if kind == 3 else 4
            found[tag] = int.from_bytes(payload[at + 8:at + 8 + width], order)
    return (found[256], found[257]) if len(found) == 2 else None


def decode_bgr(payload, name="<bytes>", min_side=None, max_pixels=DEFAULT_MAX_PIXELS, keep_grey=False):
    """Encoded image bytes → uint8 H×W×3 BGR.

    Grey, palette, RGBA (composited on white), 16-bit and CMYK inputs are converted; JPEG EXIF
    orientation is applied. With ``min_side``, a large JPEG may be decoded at 1/2, 1/4 or 1/8 size
    as long as its short side stays at least ``min_side``. An image over ``max_pixels`` (0: no
    limit) is refused from its header before decoding; formats without a header we read are
    checked after decoding, with OpenCV's own limit (OPENCV_IO_MAX_IMAGE_PIXELS) as the backstop.
    With ``keep_grey``, a grey image comes back as uint8 H×W (a third of the memory; what
    colorizing needs of it) instead of three equal channels.
    """
    if len(payload) == 0:
        raise UnreadableImage(f"{name}: empty file")
    size = header_size(payload)
    if size:
        check_pixels(*size, max_pixels, name)
    buffer = np.frombuffer(payload, dtype=np.uint8)
    if payload[:2] == b"\xff\xd8":
        # JPEG has no alpha and no 16-bit; IMREAD_COLOR applies EXIF orientation and converts
        # grey and CMYK to BGR.
        frame = jpeg_frame(payload)
        flags = cv2.IMREAD_GRAYSCALE if keep_grey and frame and frame[2] == 1 else cv2.IMREAD_COLOR
        size = frame[:2] if min_side and frame else None
        if size:
            flags = next((flag for factor, flag in _JPEG_REDUCED if min(size) // factor >= min_side), flags)
        image = cv2.imdecode(buffer, flags)
    else:
        image = cv2.imdecode(buffer, cv2.IMREAD_UNCHANGED)
    if image is None or image.size == 0:
        raise UnreadableImage(f"{name}: not an image OpenCV can decode (corrupt, truncated or another kind of file)")
    check_pixels(image.shape[1], image.shape[0], max_pixels, name)
    if keep_grey and image.ndim == 2 and image.dtype == np.uint8:
        return image
    return to_bgr8(image)


def to_bgr8(image):
    """Any decoded array (H×W, H×W×1..4; uint8, uint16 or float) → uint8 H×W×3 BGR."""
    if image.dtype == np.uint16:
        image = ((image.astype(np.uint32) + 128) // 257).astype(np.uint8)
    elif image.dtype.kind == "f":
        image = (np.clip(image, 0.0, 1.0) * 255.0 + 0.5).astype(np.uint8)
    elif image.dtype != np.uint8:
        raise UnreadableImage(f"unsupported pixel type {image.dtype}")
    if image.ndim == 2:
        return cv2.cvtColor(image, cv2.COLOR_GRAY2BGR)
    channels = image.shape[2]
    if channels == 1:
        return cv2.cvtColor(image[..., 0], cv2.COLOR_GRAY2BGR)
    if channels == 2:
        grey, alpha = image[..., 0], image[..., 1]
        return cv2.cvtColor(_over_white(grey[..., None], alpha)[..., 0], cv2.COLOR_GRAY2BGR)
    if channels == 4:
        return _over_white(image[..., :3], image[..., 3])
    return np.ascontiguousarray(image[..., :3])


def _over_white(colour, alpha):
    weight = alpha.astype(np.float32)[..., None] / 255.0
    return (colour.astype(np.float32) * weight + 255.0 * (1.0 - weight) + 0.5).astype(np.uint8)


def read_bgr(path, min_side=None, max_pixels=DEFAULT_MAX_PIXELS, keep_grey=False):
    """Read a photo file as uint8 BGR; raises UnreadableImage naming the file and the reason.

    ``min_side``, ``max_pixels``, ``keep_grey``: see decode_bgr.
    """
    path = pathlib.Path(path)
    try:
        payload = path.read_bytes()
    except OSError as err:
        raise UnreadableImage(f"{path}: cannot read ({err.strerror or err})") from None
    return decode_bgr(payload, str(path), min_side, max_pixels, keep_grey)


def list_images(inputs, suffixes=IMAGE_SUFFIXES):
    """Files, directories (recursively, files with these suffixes only: images by default) and
    list files (.txt: one path a line, relative to the list's folder) → sorted unique list."""
    found = []
    for item in inputs:
        item = pathlib.Path(item)
        if item.is_dir():
            found.extend(p for p in sorted(item.rglob("*"))
                         if p.is_file() and p.suffix.lower() in suffixes)
        elif item.suffix == ".txt":
            for line in item.read_text().splitlines():
                line = line.strip()
                if line and not line.startswith("#"):
                    found.append(item.parent / line)
        else:
            found.append(item)
    unique = []
    seen = set()
    for path in found:
        if path not in seen:
            seen.add(path)
            unique.append(path)
    return unique
