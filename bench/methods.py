"""One benchmark method on one video, run in its own process so its peak memory is its own.

    python bench/methods.py METHOD VIDEO     # prints one JSON line

METHOD: ours, ours-builds (keep_builds), decode (PyAV, thread_type AUTO), decode1 (PyAV, one
thread), pyscenedetect (ContentDetector at its defaults), ffmpeg (scene filter, gt(scene,0.4)),
ffmpeg@T (the same filter at threshold T, e.g. ffmpeg@0.05).
The JSON has "transitions" (seconds), "seconds" (wall time of the work itself, imports excluded),
"peak_rss_mb" (the whole process, or the ffmpeg child for "ffmpeg"), or "skipped" with a reason.
"""

from __future__ import annotations

import json
import re
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


class Clock:
    """Wall and CPU seconds (user + system, this process and its children) of a block of work.
    CPU time is what stays meaningful when other jobs load the machine."""

    def __enter__(self):
        self.wall, self.cpu = time.perf_counter(), self._cpu()
        return self

    def __exit__(self, *exc):
        self.seconds = time.perf_counter() - self.wall
        self.cpu_seconds = self._cpu() - self.cpu

    @staticmethod
    def _cpu() -> float:
        return sum(u.ru_utime + u.ru_stime for u in (resource.getrusage(resource.RUSAGE_SELF),
                                                    resource.getrusage(resource.RUSAGE_CHILDREN)))

    def result(self, **fields) -> dict:
        return {"seconds": self.seconds, "cpu_seconds": self.cpu_seconds, **fields}


def ours(video: str, keep_builds: bool = False) -> dict:
    try:
        from slidecast import ExtractOptions, extract
        import slidecast.pipeline  # noqa: F401  (the engine; absent until it lands)
        # extract() imports the content module (OCR, PDF, notes) on first use, 0.5 CPU s: not
        # timed, like every import (a worker pays it once, not per video)
        import slidecast.content  # noqa: F401
    except ImportError as error:
        return {"skipped": f"engine not importable yet: {error}"}
    options = ExtractOptions(ocr=False, transcribe=False, pdf=False, notes=False, subtitles=False,
                             keep_builds=keep_builds)
    with tempfile.TemporaryDirectory(prefix="bench-") as out, Clock() as clock:
        manifest = extract(video, out, options)
    slides = manifest.slides
    return clock.result(transitions=[s.start for s in slides[1:]], same_as=[s.same_as for s in slides],
                        timings=manifest.timings)


def decode(video: str, threads: str = "AUTO") -> dict:
    import av

    with Clock() as clock, av.open(video) as container:
        stream = container.streams.video[0]
        if threads == "one":
            stream.codec_context.thread_count = 1
        else:
            stream.thread_type = threads
        frames = sum(1 for _ in container.decode(stream))
    return clock.result(transitions=None, frames=frames)


def pyscenedetect(video: str) -> dict:
    from scenedetect import ContentDetector, detect

    with Clock() as clock:
        scenes = detect(video, ContentDetector())
    return clock.result(transitions=[start.get_seconds() for start, _ in scenes[1:]])


def ffmpeg_scene(video: str, threshold: float = 0.4) -> dict:
    import imageio_ffmpeg

    command = [imageio_ffmpeg.get_ffmpeg_exe(), "-hide_banner", "-nostats", "-i", video, "-an",
               "-vf", f"select='gt(scene,{threshold:g})',showinfo", "-f", "null", "-"]
    with Clock() as clock:
        run = subprocess.run(command, capture_output=True, text=True, check=True)
    times = [float(t) for t in re.findall(r"pts_time:\s*([0-9.]+)", run.stderr)]
    child = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    return clock.result(transitions=times, peak_rss_mb=child)


METHODS = {
    "ours": ours,
    "ours-builds": lambda video: ours(video, keep_builds=True),
    "decode": decode,
    "decode1": lambda video: decode(video, threads="one"),
    "pyscenedetect": pyscenedetect,
    "ffmpeg": ffmpeg_scene,
}


def main() -> int:
    method, video = sys.argv[1], sys.argv[2]
    if method.startswith("ffmpeg@"):
        result = ffmpeg_scene(video, float(method.split("@", 1)[1]))
    else:
        result = METHODS[method](video)
    usage = max(resource.getrusage(who).ru_maxrss for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN))
    result.setdefault("peak_rss_mb", usage / 1024)
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
