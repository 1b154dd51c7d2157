"""Read Qt binary resource archives (``.rcc``), as GCompris ships its pictures.

Format (Qt's rcc, versions 1–3, all integers big-endian):
- header: ``b"qres"``, version u32, tree offset u32, data offset u32, names offset u32,
  and from version 3 a flags u32;
- tree: fixed-size nodes (14 bytes, 22 from version 2 with a u64 modification time appended):
  name offset u32, flags u16, then for a directory child count u32 and first child index u32,
  for a file country u16, language u16 and data offset u32;
- names: u16 length, u32 hash, then that many UTF-16BE code units;
- data: u32 size then the bytes; flag 0x01 means qCompress (u32 size + zlib), 0x04 zstd.
"""
import logging
import pathlib
import struct
import zlib

FLAG_COMPRESSED = 0x01
FLAG_DIRECTORY = 0x02
FLAG_COMPRESSED_ZSTD = 0x04

log = logging.getLogger("rcc")


class RccError(ValueError):
    """The bytes are not a readable rcc archive."""


class RccArchive:
    """An rcc archive held in memory: ``paths()`` lists files, ``read(path)`` returns bytes."""

    def __init__(self, blob, name="<rcc>"):
        self.name = name
        self._blob = blob
        if blob[:4] != b"qres":
            raise RccError(f"{name}: not a Qt resource archive (no 'qres' magic)")
        self.version, self._tree, self._data, self._names = struct.unpack_from(">IIII", blob, 4)
        if self.version not in (1, 2, 3):
            raise RccError(f"{name}: unsupported rcc version {self.version}")
        self._node_size = 14 if self.version == 1 else 22
        self._files = {}
        self._walk(0, "")

    @classmethod
    def open(cls, path):
        path = pathlib.Path(path)
        return cls(path.read_bytes(), str(path))

    def _node(self, index):
        offset = self._tree + index * self._node_size
        if offset + 14 > len(self._blob):
            raise RccError(f"{self.name}: tree node {index} lies past the end of the file")
        name_offset, flags = struct.unpack_from(">IH", self._blob, offset)
        return offset, name_offset, flags

    def _name(self, name_offset):
        start = self._names + name_offset
        (length,) = struct.unpack_from(">H", self._blob, start)
        return self._blob[start + 6:start + 6 + 2 * length].decode("utf-16-be")

    def _walk(self, index, prefix):
        offset, name_offset, flags = self._node(index)
        name = "" if index == 0 else self._name(name_offset)
        path = f"{prefix}/{name}" if prefix else name
        if flags & FLAG_DIRECTORY:
            count, first = struct.unpack_from(">II", self._blob, offset + 6)
            for child in range(first, first + count):
                self._walk(child, path)
        else:
            (data_offset,) = struct.unpack_from(">I", self._blob, offset + 10)
            self._files[path] = (data_offset, flags)

    def paths(self):
        return sorted(self._files)

    def read(self, path):
        try:
            data_offset, flags = self._files[path.lstrip("/")]
        except KeyError:
            raise KeyError(f"{self.name}: no file '{path}' in the archive") from None
        start = self._data + data_offset
        (size,) = struct.unpack_from(">I", self._blob, start)
        payload = self._blob[start + 4:start + 4 + size]
        if flags & FLAG_COMPRESSED:
            return zlib.decompress(payload[4:])
        if flags & FLAG_COMPRESSED_ZSTD:
            raise RccError(f"{self.name}: '{path}' is zstd-compressed, which this reader does not handle")
        return payload
