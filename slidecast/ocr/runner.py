"""OCR many slide images at once within the machine's cores.

Threads, not processes: onnxruntime and the tesseract subprocess both run outside the GIL, so
threads share one Python process without pickling results back (measured in docs/benchmarks.md).
An engine is used by one thread at a time (an engine object is not promised to be re-entrant),
and kept for the next image and the next job: a service made new onnxruntime sessions for every
job, and its memory grew by about 150 MB a job (docs/benchmarks.md, "Stop 24").
"""

from __future__ import annotations

import os
import threading
from concurrent.futures import ThreadPoolExecutor, as_completed
from contextlib import contextmanager
from pathlib import Path
from typing import Callable

from . import get_engine, resolve_engine_name
from .base import PageText, page_from_words


def worker_count(requested: int, jobs: int) -> int:
    """`requested` workers (0 = the cores this process may use), never more than there are jobs."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    wanted = requested if requested > 0 else cores
    return max(1, min(wanted, jobs))


def ocr_images(paths: list[Path], engine: str = "auto", workers: int = 0,
               on_done: Callable[[int, int], None] | None = None) -> list[PageText]:
    """OCR each image; results in the order of `paths`.

    `on_done(done, total)` runs in the calling thread after each image, so it may raise (e.g.
    Cancelled) to stop: images not yet started are then skipped. With N workers each engine
    gets 1 intra-op thread, so N workers use N cores; a single worker gets all the cores.
    """
    if not paths:
        return []
    name = resolve_engine_name(engine)
    count = worker_count(workers, len(paths))
    threads_each = 1 if count > 1 else worker_count(workers, 1 << 16)

    def one(path: Path) -> PageText:
        with _borrowed(name, threads_each) as engine:
            return page_from_words(engine.read(path))

    pages: list[PageText | None] = [None] * len(paths)
    pool = ThreadPoolExecutor(max_workers=count, thread_name_prefix="ocr")
    try:
        futures = {pool.submit(one, path): pos for pos, path in enumerate(paths)}
        for done, future in enumerate(as_completed(futures), start=1):
            pages[futures[future]] = future.result()
            if on_done:
                on_done(done, len(paths))
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
    return pages  # type: ignore[return-value]


# Engines not in use, by (name, threads): as many as were ever reading at once, up to the cores.
_idle: dict[tuple[str, int], list] = {}
_idle_lock = threading.Lock()


@contextmanager
def _borrowed(name: str, threads: int):
    """An engine for this thread alone until it is given back: an idle one, else a new one."""
    with _idle_lock:
        idle = _idle.setdefault((name, threads), [])
        engine = idle.pop() if idle else None
    if engine is None:
        engine = get_engine(name, threads=threads)
    try:
        yield engine
    finally:
        with _idle_lock:
            if len(idle) < worker_count(0, 1 << 16):  # a burst of jobs on a big machine keeps no more
                idle.append(engine)
