"""Pin the public photo sets (colornet/data/git_photos.PUBLIC_SETS) at a commit of each repository:
every photo's path, sha256 and ImageNet class, written to data/sources/public-photos.txt.

Run once per new pin, from a mirror (PHOTO_MIRROR=DIR or --mirror DIR: clones or bare snapshots
named owner+name); `make photos` then reads exactly these files and checks each sha256.
"""
import argparse
import logging
import pathlib
import sys

from colornet.common import REPO_ROOT, setup_logging
from colornet.data import git_photos

log = logging.getLogger("pin_public_photos")
HEADER = """\
# Public photo sets pinned by tools/pin_public_photos.py: '## owner/name commit', then one line per
# photo: path in the repository, sha256 of its bytes, and its ImageNet class index where known.
# EliSchwartz/imagenet-sample-images: one photo per ImageNet class (class = rank of its file's wnid).
# VeriSilicon/acuity-dataset: ImageNet validation photos at 227x227 (class from dataset.txt).
# BIDS/BSDS500: the Berkeley segmentation photos (train, val and test folders).
# Why: ImageNet's and BSDS500's photos of the whole world, beside the Debian packages' (issue 39).
# ImageNet's dog classes (151-268) never enter train or val: they go to dogs.txt (fine-tuning's).
"""


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--mirror", type=pathlib.Path, required=True, help="folder of clones named owner+name")
    parser.add_argument("--output", type=pathlib.Path, default=REPO_ROOT / "data" / "sources" / "public-photos.txt")
    parser.add_argument("--verbose", "-v", action="store_true")
    args = parser.parse_args(argv)
    setup_logging(args.verbose)
    lines = [HEADER.rstrip()]
    try:
        for repo in git_photos.PUBLIC_SETS:
            git_dir = git_photos.mirror_git_dir(args.mirror, repo)
            if git_dir is None:
                raise git_photos.GitSourceError(f"{repo}: not in {args.mirror}")
            commit = git_photos.head_commit(git_dir)
            block = git_photos.pin_lines(repo, git_dir, commit)
            log.info("%s at %s: %d photos", repo, commit[:12], len(block) - 1)
            lines += block
    except git_photos.GitSourceError as err:
        log.error("%s", err)
        return 1
    args.output.write_text("\n".join(lines) + "\n")
    log.info("wrote %s", args.output)
    return 0


if __name__ == "__main__":
    sys.exit(main())
