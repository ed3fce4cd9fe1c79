"""How long a submission waits in the rate limiter while Redis accepts connections but answers
nothing (a frozen redis-server: SIGSTOP).

    python bench/faults/hung_redis_limiter.py [--seconds 30]

A private redis-server holds the limiter's counters (RATE_LIMIT_SUBMIT 1000 per minute: none is
refused for the count); once it is frozen, a submission that is refused at once (no video: 422)
is sent every 0.25 s for --seconds, so each answer's time is the limiter's alone. Prints the first
wait, the median, the largest and the sum. The database is a SQLite file: the limiter is all that
touches Redis on this path.
"""

from __future__ import annotations

import argparse
import signal
import statistics
import time

from common import RedisServer, make_web, migrate, remove, scratch


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=30.0)
    args = parser.parse_args()
    folder = scratch("slidecast-hung-limiter-")
    server = RedisServer(folder)
    try:
        db_url = f"sqlite:///{folder / 'bench.db'}"
        migrate(db_url)
        web = make_web(db_url, server.url, None, str(folder / "data"), RATE_LIMIT_SUBMIT="1000 per minute")
        client = web.test_client()
        first = client.post("/api/jobs", json={})  # Redis answering: counted there
        assert first.status_code == 422, first.get_json()
        server.proc.send_signal(signal.SIGSTOP)
        try:
            waits = timed_submissions(client, args.seconds)
        finally:
            server.proc.send_signal(signal.SIGCONT)
        web.extensions["slidecast.executor"].shutdown(wait=False)
    finally:
        server.stop()
        remove(folder)
    print(f"{len(waits)} submissions in {args.seconds:.0f} s with Redis frozen: first {waits[0]:.2f} s, "
          f"median {statistics.median(waits):.2f} s, largest {max(waits):.2f} s, "
          f"over 0.5 s: {sum(w > 0.5 for w in waits)}, sum {sum(waits):.1f} s")
    return 0


def timed_submissions(client, seconds: float) -> list[float]:
    waits, start = [], time.monotonic()
    while time.monotonic() - start < seconds:
        began = time.monotonic()
        answer = client.post("/api/jobs", json={})
        assert answer.status_code == 422, (answer.status_code, answer.get_json())
        waits.append(time.monotonic() - began)
        time.sleep(0.25)
    return waits


if __name__ == "__main__":
    raise SystemExit(main())
