"""CPU time per status poll in one process: GET /api/jobs/ID through the Flask test client, on
PostgreSQL (a throwaway database) and Redis, one running job polled over and over (so mostly from
the near cache, as a dashboard or several clients of one job would).

    .venv/bin/python bench/poll_cpu_bench.py [--redis redis://127.0.0.1:6379/13] [--batches 5]

Steadier than bench/api_bench.py on a shared machine: it counts this process's CPU time
(time.process_time) per batch of 1000 polls, not requests per second. Run it from two checkouts
one after the other, alternating, to compare two versions of the code.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench" / "faults"))
sys.path.insert(0, str(ROOT / "bench"))
from api_bench import make_job  # noqa: E402
from common import pg_database  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--redis", default="redis://127.0.0.1:6379/13")
    parser.add_argument("--batches", type=int, default=5)
    args = parser.parse_args()
    from app import create_app
    with tempfile.TemporaryDirectory() as storage, pg_database() as db_url:
        job_id = make_job(db_url, args.redis, storage)
        app = create_app({"SQLALCHEMY_DATABASE_URI": db_url, "REDIS_URL": args.redis, "STORAGE_URL": storage,
                          "CELERY_BROKER_URL": None, "RECOVER_JOBS_ON_START": False})
        client = app.test_client()
        for _ in range(200):  # warm up
            client.get(f"/api/jobs/{job_id}")
        per_poll = []
        for _ in range(args.batches):
            began = time.process_time()
            for _ in range(1000):
                assert client.get(f"/api/jobs/{job_id}").status_code == 200
            per_poll.append((time.process_time() - began) * 1000)  # ms per 1000 = us per poll
    print(f"{ROOT}: CPU us per poll, batches of 1000: {[round(b) for b in per_poll]}; "
          f"median {statistics.median(per_poll):.0f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
