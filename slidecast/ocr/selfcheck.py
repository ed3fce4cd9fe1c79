"""Does this installation read text? `python -m slidecast.ocr.selfcheck` (the Dockerfile runs it).

Reads the picture shipped beside this file with the default engine and checks the words come
back, and that OpenCV is the headless build: a GUI build links libGL and X11, which a server
image does not have, so OCR would fail there on the first job instead of at build time.
"""

from __future__ import annotations

import re
import sys
from importlib import metadata
from pathlib import Path

PICTURE = Path(__file__).with_name("selfcheck.png")
EXPECTED = "Slidecast image check Every worker reads this line"
# Distributions that install a `cv2` linked against GUI libraries.
GUI_OPENCV = ("opencv-python", "opencv-contrib-python")


def gui_opencv_problems() -> list[str]:
    """Why the installed OpenCV is not the headless build; empty when it is."""
    import cv2

    problems = []
    for name in GUI_OPENCV:
        try:
            problems.append(f"{name} {metadata.version(name)} is installed beside the headless build")
        except metadata.PackageNotFoundError:
            pass
    gui = re.search(r"^\s*GUI:\s*(\S+)", cv2.getBuildInformation(), re.M)
    if gui and gui.group(1).upper() != "NONE":
        problems.append(f"cv2 {cv2.__version__} was built with a GUI ({gui.group(1)})")
    return problems


def read_picture() -> str:
    """The text the default OCR engine reads on the shipped picture, in reading order."""
    from . import get_engine, page_from_words

    return " ".join(page_from_words(get_engine("auto").read(PICTURE)).text.split())


def main() -> int:
    problems = gui_opencv_problems()
    text = read_picture()
    if text.lower() != EXPECTED.lower():
        problems.append(f"OCR read {text!r} instead of {EXPECTED!r}")
    for problem in problems:
        print(f"slidecast self-check: {problem}", file=sys.stderr)
    if not problems:
        print(f"slidecast self-check: OCR read {text!r}; OpenCV is headless")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
