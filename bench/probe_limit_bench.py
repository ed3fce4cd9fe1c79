"""What a 16000x16000 upload costs the web process at submit: jobs.inputs.probe_video with the
default MAX_VIDEO_PIXELS (refused from the header) against the same probe with the limit lifted
(what submit did before the limit: decode the first frame and the end).

    python bench/probe_limit_bench.py [--size 16000] [--rounds 3]

Makes a 3-frame H.264 video of SIZE x SIZE (bench/out/huge-SIZE.mp4, kept), then probes it in a
fresh process per run, alternating the two settings; prints wall seconds and peak RSS (MB).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "bench" / "out"

PROBE = """
import json, resource, sys, time
sys.path.insert(0, {root!r})
from jobs.inputs import BadVideo, probe_video
started = time.perf_counter()
try:
    probe_video({path!r}, {{"seconds": 4 * 3600, "pixels": {pixels}}})
    outcome = "accepted"
except BadVideo as exc:
    outcome = str(exc)
print(json.dumps({{"seconds": time.perf_counter() - started, "outcome": outcome,
                  "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}}))
"""


def make_video(size: int) -> Path:
    path = OUT / f"huge-{size}.mp4"
    if path.exists():
        return path
    import av
    import numpy as np
    OUT.mkdir(exist_ok=True)
    with av.open(str(path), "w") as container:
        stream = container.add_stream("libx264", rate=1)
        stream.width = stream.height = size
        stream.pix_fmt = "yuv420p"
        picture = np.zeros((size, size, 3), np.uint8)
        for _ in range(3):
            container.mux(stream.encode(av.VideoFrame.from_ndarray(picture, format="rgb24")))
        container.mux(stream.encode())
    return path


def probe_once(path: Path, pixels: int) -> dict:
    code = PROBE.format(root=str(ROOT), path=str(path), pixels=pixels)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=16000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    path = make_video(args.size)
    settings = {"MAX_VIDEO_PIXELS=3840x2160 (default)": 3840 * 2160, "limit lifted": args.size * args.size}
    runs = {name: [] for name in settings}
    for round_no in range(args.rounds):
        for name in list(settings) if round_no % 2 == 0 else list(settings)[::-1]:
            runs[name].append(probe_once(path, settings[name]))
    print(f"{args.size}x{args.size}, {path.stat().st_size / 1e6:.2f} MB, {args.rounds} rounds alternating\n")
    print("| setting | seconds (median) | peak RSS MB (median) | outcome |")
    print("|---|---|---|---|")
    for name, results in runs.items():
        seconds = sorted(r["seconds"] for r in results)[len(results) // 2]
        rss = sorted(r["peak_rss_mb"] for r in results)[len(results) // 2]
        print(f"| {name} | {seconds:.2f} | {rss:.0f} | {results[0]['outcome'][:70]} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
