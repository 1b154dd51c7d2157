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
import argparse
import logging
import pathlib
import sys

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1]))  # run as a script: the repo's package

from colornet.data.rcc import RccArchive, RccError

log = logging.getLogger("rcc")


def main(argv=None):
    parser = argparse.ArgumentParser(description="List or extract the files in a Qt .rcc archive.")
    parser.add_argument("archive", help="the .rcc file")
    parser.add_argument("--extract", metavar="PATH", help="write this member to --output")
    parser.add_argument("--output", "-o", help="where --extract writes (default: the member's name)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(name)s: %(message)s")
    try:
        archive = RccArchive.open(args.archive)
        if args.extract:
            target = pathlib.Path(args.output or pathlib.PurePosixPath(args.extract).name)
            target.write_bytes(archive.read(args.extract))
            log.info("wrote %s", target)
        else:
            sys.stdout.write("".join(f"{path}\n" for path in archive.paths()))
    except (OSError, RccError, KeyError) as err:
        log.error("%s", err)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
