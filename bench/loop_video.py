"""A long video made by playing a bench video N times in a row (stream copy: no re-encoding).

    python bench/loop_video.py /work/realbench-speed/dev/lecture20-b2t-pip.mp4 /work/realbench-speed/long/lecture120.mp4 --times 6

For the memory and time flatness check (issue #10: "flat from 20 to 120 minutes"): rendering a
2-hour video frame by frame took 37 minutes on two busy cores; joining six copies of a
20-minute one with ffmpeg's concat demuxer (`-c copy`) takes seconds, and every packet is the
original's, so the per-minute cost of the engine can be compared directly. The truth is the
original's repeated: copy k's times are shifted by k x the duration, the joins are slide changes
(the last page to the first), and every appearance after the first copy is a return to the
first copy's appearance of its page. What a loop does not have: more distinct slides (a real
2-hour lecture shows ~6x as many; memory that grows per distinct slide is not exercised).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path


def join(source: Path, target: Path, times: int) -> None:
    import imageio_ffmpeg

    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile("w", suffix=".txt", delete=False) as listing:
        listing.write("".join(f"file '{source.resolve()}'\n" for _ in range(times)))
    partial = target.with_suffix(".part.mp4")
    subprocess.run([imageio_ffmpeg.get_ffmpeg_exe(), "-hide_banner", "-loglevel", "error", "-y", "-f", "concat",
                    "-safe", "0", "-i", listing.name, "-map", "0:v", "-c", "copy", str(partial)], check=True)
    Path(listing.name).unlink()
    partial.rename(target)


def looped_truth(truth: dict, times: int) -> dict:
    """The truth of `truth`'s video played `times` times in a row (see the module docstring)."""
    length = truth["duration"]
    first_of_page = {a["deck_page"]: n + 1 for n, a in enumerate(truth["appearances"])
                     if not a["same_as_appearance"]}
    appearances, transitions, builds = [], [], []
    for k in range(times):
        shift = round(k * length, 3)
        for n, a in enumerate(truth["appearances"]):
            same = a["same_as_appearance"] if k == 0 else first_of_page.get(a["deck_page"], a["same_as_appearance"])
            appearances.append({**a, "start": round(a["start"] + shift, 3), "end": round(a["end"] + shift, 3),
                                "same_as_appearance": same})
        transitions += [round(t + shift, 3) for t in truth["transitions"]] + ([shift] if k else [])
        builds += [round(t + shift, 3) for t in truth["build_transitions"]]
    assert truth["appearances"][-1]["deck_page"] != truth["appearances"][0]["deck_page"], \
        "the join would not be a slide change: the truth below would be wrong"
    return {**truth, "duration": round(times * length, 3), "appearances": appearances,
            "transitions": sorted(transitions), "build_transitions": builds, "changes": [],
            "title": f"{truth.get('title', 'video')} x{times}", "looped": {"times": times, "of": truth.get("title")}}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("source", type=Path)
    parser.add_argument("target", type=Path)
    parser.add_argument("--times", type=int, default=6)
    args = parser.parse_args(argv)
    truth = json.loads(Path(str(args.source) + ".truth.json").read_text())
    looped = looped_truth(truth, args.times)
    join(args.source, args.target, args.times)
    Path(str(args.target) + ".truth.json").write_text(json.dumps(looped, indent=1))
    print(f"{args.target}: {looped['duration']:.0f} s, {len(looped['appearances'])} appearances, "
          f"{len(looped['transitions'])} changes")
    return 0


if __name__ == "__main__":
    sys.exit(main())
