"""Holding a step at the moment it opens a file, without touching the code under test."""

from __future__ import annotations

import fcntl
import os
import signal
from contextlib import contextmanager
from pathlib import Path


@contextmanager
def opening_held(path: Path):
    """A write lease on `path`: another process or thread opening the file waits until the block
    ends. Yields a check telling whether one is waiting now (the kernel then announces the lease's
    break). Only from the main thread (it sets a signal handler)."""
    previous = signal.signal(signal.SIGIO, lambda *_: None)  # how the kernel announces it; default: exit
    fd = os.open(path, os.O_RDWR)
    try:
        fcntl.fcntl(fd, fcntl.F_SETLEASE, fcntl.F_WRLCK)
        yield lambda: fcntl.fcntl(fd, fcntl.F_GETLEASE) != fcntl.F_WRLCK
    finally:
        os.close(fd)  # the lease ends with it: the opener goes on
        signal.signal(signal.SIGIO, previous)
