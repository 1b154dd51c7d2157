"""Write docs/data.md: what is in the photo set, with a contact sheet per source package, counts,
sizes, and the licences as each package's copyright file states them."""
import argparse
import logging
import pathlib
import sys


from colornet.common import REPO_ROOT, setup_logging
from colornet.data.report import write_report

log = logging.getLogger("photo_report")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--photos", type=pathlib.Path, default=REPO_ROOT / "data" / "photos")
    parser.add_argument("--docs", type=pathlib.Path, default=REPO_ROOT / "docs")
    args = parser.parse_args(argv)
    setup_logging()
    try:
        write_report(args.photos, args.docs)
    except FileNotFoundError as error:
        log.error("%s", error)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
