"""Where the engine's memory goes on one video: Python allocations, or the RSS stage by stage.

    python bench/memory_profile.py bench/videos/long120.mp4          # tracemalloc
    python bench/memory_profile.py --rss /tmp/long/lecture120.mp4    # RSS per stage

Default: a background thread snapshots tracemalloc every 2 s and keeps the snapshot with the
most traced memory; the top allocation sites of that snapshot are printed with the process's
peak RSS. tracemalloc itself adds memory and time, so use bench/run_extraction.py for the peak
RSS to quote.

`--rss`: no tracemalloc; the process's resident memory (anonymous: the heaps, FFmpeg's and
OpenCV's buffers; file: mapped libraries) is read from /proc every 0.2 s and reported per
stage of the run (the progress callback's stages; "detecting" is the second pass, "after"
everything from the timeline on), with the peak and when it happened. Memory that Python
does not allocate (native, e.g. an open container's index of every frame) shows up here only.
"""

from __future__ import annotations

import argparse
import resource
import sys
import tempfile
import threading
import time
import tracemalloc
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from slidecast import ExtractOptions, extract  # noqa: E402

OPTIONS = dict(ocr=False, transcribe=False, pdf=False, notes=False, subtitles=False)


def largest_snapshot(video: str) -> tuple[int, tracemalloc.Snapshot]:
    tracemalloc.start(3)
    best: dict = {"bytes": 0, "snapshot": None}
    done = threading.Event()

    def watch() -> None:
        while not done.wait(2.0):
            current, _ = tracemalloc.get_traced_memory()
            if current > best["bytes"] * 1.05:
                best["bytes"], best["snapshot"] = current, tracemalloc.take_snapshot()

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    with tempfile.TemporaryDirectory(prefix="bench-mem-") as out:
        extract(video, out, ExtractOptions(**OPTIONS))
    done.set()
    watcher.join()
    return best["bytes"], best["snapshot"] or tracemalloc.take_snapshot()


def resident() -> dict[str, float]:
    """VmRSS, RssAnon and RssFile of this process in MB."""
    fields = {}
    with open("/proc/self/status") as status:
        for line in status:
            key, _, value = line.partition(":")
            if key in ("VmRSS", "RssAnon", "RssFile"):
                fields[key] = int(value.split()[0]) / 1024
    return fields


def rss_by_stage(video: str) -> tuple[dict, tuple]:
    """{stage: (seconds, peak VmRSS, RssAnon at that peak)} and the overall peak sample."""
    stage = {"name": "start"}
    stages: dict[str, list] = {}
    done = threading.Event()
    began = time.perf_counter()

    def sample() -> None:
        while True:
            now, rss = time.perf_counter() - began, resident()
            row = stages.setdefault(stage["name"], [now, now, 0.0, 0.0])
            row[1] = now
            if rss["VmRSS"] > row[2]:
                row[2], row[3] = rss["VmRSS"], rss["RssAnon"]
            if done.wait(0.2):
                return

    def progress(name: str, fraction: float, message: str) -> None:
        stage["name"] = "after" if name == "detecting" and fraction >= 1.0 else name

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    with tempfile.TemporaryDirectory(prefix="bench-mem-") as out:
        extract(video, out, ExtractOptions(**OPTIONS), progress=progress)
    done.set()
    sampler.join()
    return stages, (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("video")
    parser.add_argument("--rss", action="store_true", help="RSS per stage instead of tracemalloc")
    args = parser.parse_args(argv)
    if args.rss:
        import slidecast.content  # noqa: F401  (imported before the run, as bench/methods.py does)

        print(f"after imports: {resident()['VmRSS']:.0f} MB")
        stages, (peak,) = rss_by_stage(args.video)
        print("| stage | from s | to s | peak RSS MB | anonymous MB at that peak |\n|---|---|---|---|---|")
        for name, (t0, t1, rss, anon) in stages.items():
            print(f"| {name} | {t0:.1f} | {t1:.1f} | {rss:.0f} | {anon:.0f} |")
        print(f"peak RSS (getrusage) {peak:.0f} MB")
        return 0
    traced, snapshot = largest_snapshot(args.video)
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"largest sampled Python-level memory {traced / 1e6:.1f} MB; peak RSS {rss:.0f} MB")
    for stat in snapshot.statistics("lineno")[:12]:
        print(stat)
    return 0


if __name__ == "__main__":
    sys.exit(main())
