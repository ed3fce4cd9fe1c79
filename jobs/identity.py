"""Who a process is (host:pid:start-ticks), so that jobs can name their owner and a recovering
process can tell whether that owner is still alive on this host."""

from __future__ import annotations

import os
import socket
from pathlib import Path


def process_identity() -> str:
    """host:pid:start-ticks of this process; the start time tells a reused pid apart."""
    return f"{socket.gethostname()}:{os.getpid()}:{_start_ticks(os.getpid())}"


def _start_ticks(pid: int) -> str:
    """The process's start time in clock ticks; "0" when there is no such live process (a zombie,
    which nobody may reap inside a container, counts as dead)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return "0"
    return "0" if len(fields) < 20 or fields[0] in ("Z", "X") else fields[19]


def owner_is_alive(owner: str | None) -> bool | None:
    """True/False for an owner on this host; None when it is elsewhere (cannot tell)."""
    try:
        host, pid, ticks = (owner or "").rsplit(":", 2)
        pid_number = int(pid)
    except ValueError:
        return False
    if host != socket.gethostname():
        return None
    return _start_ticks(pid_number) == ticks


def pid_alive(pid: int) -> bool:
    """A live process has this pid on this host (perhaps another one than before: a reused pid)."""
    return _start_ticks(pid) != "0"
