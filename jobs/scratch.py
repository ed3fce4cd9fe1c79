"""Scratch folders of a job's work in the system's temporary folder, and removing those that an
interrupted process left there (a crash, kill -9, a deploy mid-step: TemporaryDirectory's
clean-up never ran). Each folder's name carries its process's pid, so that a live process's
scratch is never touched; a folder is removed only once that process is gone and nothing in it
changed for the longest a job may run (JOB_TIME_LIMIT). Folders of older versions (no pid in the
name) are judged by that age alone."""

from __future__ import annotations

import logging
import os
import re
import shutil
import tempfile
import time
from pathlib import Path

from jobs.identity import pid_alive

log = logging.getLogger("slidecast.scratch")

KINDS = ("job", "extract", "ocr", "asr", "generate", "chunk", "merge", "reuse", "deck", "remux")
_WORK = re.compile(rf"slidecast-(?:{'|'.join(KINDS)})-(?:(\d+)-)?[a-z0-9_]+")
_METRICS = re.compile(r"slidecast-metrics-(\d+)")  # gunicorn.conf.py: one per server start


def scratch(kind: str) -> tempfile.TemporaryDirectory:
    """A temporary folder for `kind` of work (one of KINDS), named with this process's pid."""
    return tempfile.TemporaryDirectory(prefix=f"slidecast-{kind}-{os.getpid()}-")


def remove_stale_scratch(max_age: float, root: str | Path | None = None) -> list[str]:
    """Remove the stale scratch folders of this user under `root` (the temporary folder);
    their names. Safe with other processes doing the same at once."""
    root = Path(root or tempfile.gettempdir())
    removed = []
    try:
        entries = list(os.scandir(root))
    except OSError as exc:
        log.warning("cannot look for stale scratch folders in %s: %s", root, exc)
        return removed
    for entry in entries:
        if _stale(entry, max_age):
            shutil.rmtree(entry.path, ignore_errors=True)
            removed.append(entry.name)
    if removed:
        log.info("removed %d scratch folder(s) interrupted work left in %s", len(removed), root)
    return removed


def _stale(entry: os.DirEntry, max_age: float) -> bool:
    try:
        if not entry.is_dir(follow_symlinks=False) or entry.stat(follow_symlinks=False).st_uid != os.getuid():
            return False
    except OSError:
        return False
    metrics = _METRICS.fullmatch(entry.name)
    if metrics:  # its server's master is gone, and with it every worker writing there
        return entry.path != os.environ.get("PROMETHEUS_MULTIPROC_DIR") and not pid_alive(int(metrics[1]))
    work = _WORK.fullmatch(entry.name)
    if not work or (work[1] and pid_alive(int(work[1]))):
        return False
    return time.time() - _last_change(entry.path) > max_age


def _last_change(folder: str) -> float:
    """The newest modification time in the tree; now when it cannot be read (being removed)."""
    newest = 0.0
    try:
        for path, dirs, files in os.walk(folder, onerror=_raise):
            for name in [path, *(os.path.join(path, n) for n in dirs + files)]:
                newest = max(newest, os.lstat(name).st_mtime)
    except OSError:
        return time.time()
    return newest


def _raise(error: OSError) -> None:
    raise error
