"""Write docs/data.md: what is in the photo set, with a contact sheet per source package, counts,
sizes, and the licences as each package's copyright file states them."""
import argparse
import logging
import pathlib
import sys

from colornet.common import REPO_ROOT, exit_status, setup_logging
from colornet.data.report import write_report

log = logging.getLogger("photo_report")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--photos", type=pathlib.Path, default=REPO_ROOT / "data" / "photos")
    parser.add_argument("--docs", type=pathlib.Path, default=REPO_ROOT / "docs")
    args = parser.parse_args(argv)
    setup_logging()
    return exit_status(log, lambda: write_report(args.photos, args.docs), FileNotFoundError)


if __name__ == "__main__":
    sys.exit(main())
