"""Do two checkouts of the engine decide the same on these videos? (for speed-only changes)

    python bench/same_decisions.py /tmp/old-checkout /tmp/new-checkout VIDEO [VIDEO ...]

Each checkout's engine runs in its own process (default options, no OCR/PDF/notes); compared
per video: the transitions, `same_as` and each slide's `frame_time` (which frame pictures it).
Prints SAME or DIFF per video, with the first differences; exit status 1 if any differ.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

ONE_RUN = """
import json, sys, tempfile
sys.path.insert(0, sys.argv[1])
from slidecast import ExtractOptions, extract
with tempfile.TemporaryDirectory() as out:
    m = extract(sys.argv[2], out, ExtractOptions(ocr=False, transcribe=False, pdf=False, notes=False,
                                                 subtitles=False))
print(json.dumps({"transitions": [s.start for s in m.slides[1:]], "same_as": [s.same_as for s in m.slides],
                  "frame_time": [s.frame_time for s in m.slides]}))
"""


def decisions(checkout: Path, video: Path) -> dict:
    done = subprocess.run([sys.executable, "-c", ONE_RUN, str(checkout), str(video)], capture_output=True,
                          text=True, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("old", type=Path)
    parser.add_argument("new", type=Path)
    parser.add_argument("videos", nargs="+", type=Path)
    args = parser.parse_args(argv)
    differ = False
    for video in args.videos:
        old, new = decisions(args.old, video), decisions(args.new, video)
        diffs = {k: [(i, a, b) for i, (a, b) in enumerate(zip(old[k], new[k])) if a != b][:5]
                 for k in old if old[k] != new[k]}
        differ |= bool(diffs)
        print(f"{'DIFF' if diffs else 'SAME'} {video.name} ({len(new['transitions'])} transitions)"
              + "".join(f"\n  {k}: {d} of {len(old[k])} -> {len(new[k])}" for k, d in diffs.items()), flush=True)
    return 1 if differ else 0


if __name__ == "__main__":
    sys.exit(main())
