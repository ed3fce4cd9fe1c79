"""Each job's event log: every state and progress change in order, with an id a client can
resume after (Server-Sent Events' Last-Event-ID, api/events.py).

- `RedisEventLog`: a Redis stream per job (`slidecast:job-events:{id}`), shared by every web
  process and Celery worker; ids are the stream's own (`1732700000000-0`).
- `MemoryEventLog`: embedded mode, the events of the jobs this process ran; ids are 1, 2, 3...

Both keep the last MAX_EVENTS events of a job and forget a job's log EXPIRE_SECONDS after its
last event. Appending never raises: a log that cannot be written is logged and the job goes on
(the job store stays the truth; api/events.py reads the final state from it).
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections import OrderedDict

import redis

log = logging.getLogger("slidecast.events")

MAX_EVENTS = 1000
EXPIRE_SECONDS = 24 * 3600
_STREAM = "slidecast:job-events:{}"


class RedisEventLog:
    """Job events in Redis streams."""

    # After a failed append the log is left alone this long, as the job cache does: a job
    # reports progress many times a second and must not wait on a Redis that is gone.
    RETRY_AFTER = 2.0

    def __init__(self, url: str, longest_wait: float = 60.0, readers: int = 100):
        # Readers have their own client: a blocking read must outlast the job cache's 1 s socket
        # timeout, and every open stream holds a connection while it waits (redis-py's pool
        # allows 100). Appends come from a running job (and a submit's answer): on a Redis that
        # accepts connections but answers nothing, the readers' timeout made each one wait 20 s.
        self.client = redis.Redis.from_url(url, socket_connect_timeout=0.5, socket_timeout=longest_wait + 5,
                                           max_connections=readers + 20, decode_responses=True)
        self.writer = redis.Redis.from_url(url, socket_connect_timeout=0.5, socket_timeout=1.0,
                                           decode_responses=True)
        self._down_until = 0.0

    def append(self, job_id: str, event: dict) -> None:
        if time.monotonic() < self._down_until:
            return
        key = _STREAM.format(job_id)
        try:
            self.writer.pipeline().xadd(key, {"data": json.dumps(event)}, maxlen=MAX_EVENTS, approximate=True) \
                .expire(key, EXPIRE_SECONDS).execute()
        except redis.RedisError as exc:
            self._down_until = time.monotonic() + self.RETRY_AFTER
            log.warning("job %s: event not logged (%s); events are not logged for %.0f s", job_id, exc,
                        self.RETRY_AFTER)

    def read(self, job_id: str, after: str | None, wait: float) -> list[tuple[str, dict]]:
        """Events after id `after` (None: from the first kept), oldest first; waits up to `wait`
        seconds for one when there is none yet. Raises redis.RedisError when Redis fails."""
        reply = self.client.xread({_STREAM.format(job_id): after or "0-0"}, count=100,
                                  block=max(1, int(wait * 1000)))
        return [(entry_id, json.loads(fields["data"])) for _, entries in reply for entry_id, fields in entries]


class MemoryEventLog:
    """Job events in this process (embedded mode: the thread pool runs the jobs here)."""

    MAX_JOBS = 2000

    def __init__(self):
        self._logs: OrderedDict[str, tuple[float, list[tuple[int, dict]]]] = OrderedDict()
        self._changed = threading.Condition()

    def append(self, job_id: str, event: dict) -> None:
        with self._changed:
            _, events = self._logs.pop(job_id, (0.0, []))
            number = events[-1][0] + 1 if events else 1
            events.append((number, dict(event)))
            del events[:-MAX_EVENTS]
            self._logs[job_id] = (time.monotonic(), events)
            self._forget_old()
            self._changed.notify_all()

    def read(self, job_id: str, after: str | None, wait: float) -> list[tuple[str, dict]]:
        """Same contract as RedisEventLog.read; ids are decimal strings."""
        since = _number(after)
        deadline = time.monotonic() + wait
        with self._changed:
            while True:
                _, events = self._logs.get(job_id, (0.0, []))
                found = [(str(n), dict(e)) for n, e in events if n > since]
                left = deadline - time.monotonic()
                if found or left <= 0:
                    return found
                self._changed.wait(left)

    def _forget_old(self) -> None:
        cutoff = time.monotonic() - EXPIRE_SECONDS
        while self._logs and (len(self._logs) > self.MAX_JOBS or next(iter(self._logs.values()))[0] < cutoff):
            self._logs.popitem(last=False)


def _number(event_id: str | None) -> int:
    try:
        return int(event_id or 0)
    except ValueError:
        return 0


def make_event_log(redis_url: str | None, longest_wait: float = 60.0, readers: int = 100):
    """RedisEventLog with REDIS_URL (`readers`: the most streams reading at once), else
    MemoryEventLog (embedded mode)."""
    return RedisEventLog(redis_url, longest_wait, readers) if redis_url else MemoryEventLog()
