"""Where the engine's Python memory goes on one video: the largest tracemalloc snapshot.

    python bench/memory_profile.py bench/videos/long120.mp4

A background thread snapshots every 2 s and keeps the snapshot with the most traced memory;
the top allocation sites of that snapshot are printed with the process's peak RSS. tracemalloc
itself adds memory and time, so use bench/run_extraction.py for the peak RSS to quote.
"""

from __future__ import annotations

import resource
import sys
import tempfile
import threading
import time
import tracemalloc
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from slidecast import ExtractOptions, extract  # noqa: E402


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
    options = ExtractOptions(ocr=False, transcribe=False, pdf=False, notes=False, subtitles=False)
    with tempfile.TemporaryDirectory(prefix="bench-mem-") as out:
        extract(video, out, options)
    done.set()
    watcher.join()
    return best["bytes"], best["snapshot"] or tracemalloc.take_snapshot()


def main() -> int:
    traced, snapshot = largest_snapshot(sys.argv[1])
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"largest sampled Python-level memory {traced / 1e6:.1f} MB; peak RSS {rss:.0f} MB")
    for stat in snapshot.statistics("lineno")[:12]:
        print(stat)
    return 0


if __name__ == "__main__":
    sys.exit(main())
