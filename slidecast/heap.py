"""Big native blocks are mapped on their own, so that freeing them gives the memory back.

glibc serves an allocation from its heap unless it is at least M_MMAP_THRESHOLD bytes, and
raises that threshold (up to 32 MB) each time a mapped block is freed. Opening an MP4 builds
FFmpeg's index of every frame in growing arrays (~8 MB for a 2-hour video); after the first
container of a run was closed, the threshold had risen above them, so every later container
(the first pass's, the live-region runs', the dense decoder's) grew its arrays inside the heap,
which then held up to three times their size (24.7 MB for an 8-MB index) and kept the peak
memory growing with the video's length. A fixed threshold of 1 MB keeps big blocks mapped and
returned on free; smaller ones (analysis frames of 50-230 KB, most Python objects) stay in the
heap, so the CPU cost of mapping is paid only for the few big blocks (measured in
docs/benchmarks.md).
"""

from __future__ import annotations

import ctypes
import os

M_MMAP_THRESHOLD = -3  # mallopt's parameter number in glibc's malloc.h
THRESHOLD = 1 << 20
_done = False


def map_big_blocks() -> None:
    """Fix glibc's mmap threshold at THRESHOLD for this process, once. Nothing happens on
    another C library, or when the user set MALLOC_MMAP_THRESHOLD_ (glibc's own variable)."""
    global _done
    if _done:
        return
    _done = True
    if "MALLOC_MMAP_THRESHOLD_" in os.environ:
        return
    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):
        return  # not glibc (musl, macOS)
    mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
    mallopt(M_MMAP_THRESHOLD, THRESHOLD)
