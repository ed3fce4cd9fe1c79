"""Fault 2: restart Redis (broker and cache) while jobs run: no job lost, polling keeps answering.

    python bench/faults/redis_restart.py [--jobs 3] [--down 5]

A private redis-server with an append-only file (as a production broker must have: without it a
restart empties the queues) serves as broker and cache. One worker and Celery beat run; while the
first job is being extracted (from --at-progress percent on: 40, near the end of its detection pass,
by default) Redis is stopped for --down seconds and started again. The API is
polled every 0.2 s the whole time; every answer's status code is counted.

Exits 1 when a job did not succeed, a poll was not answered 200, a job ran more than once
(attempts > 1), was generated twice, has doubled slide rows, or had its extraction step received
twice (failed and retried, or redelivered, across the outage).
"""

from __future__ import annotations

import argparse
import collections
import json
import re
import subprocess
import sys
import time
from datetime import datetime

from common import (ROOT, FINAL, Workers, exit_status, make_web, outage, ran_more_than_once, run_with_services,
                    submit_distinct, wait_for)


def long_clip(path):
    from slidecast.synthetic import SlideSpec, clip_spec, render_lecture
    render_lecture(clip_spec("cuts", slides=[SlideSpec(i % 7 + 1, 6.0) for i in range(20)]), path)
    return path


def first_received_after(log: str, moment: float) -> float | None:
    """Seconds from `moment` (time.time()) to the first step message a worker received after it."""
    stamps = [datetime.strptime(stamp, "%Y-%m-%d %H:%M:%S,%f").timestamp()
              for stamp in re.findall(r"^(\S+ \S+) INFO celery\.worker\.strategy: Task \S+ received", log, re.M)]
    later = [stamp - moment for stamp in stamps if stamp >= moment]
    return round(min(later), 2) if later else None


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--jobs", type=int, default=3)
    parser.add_argument("--down", type=float, default=5.0)
    parser.add_argument("--at-progress", type=float, default=40.0,
                        help="stop Redis once the first job's progress reaches this percent (extraction ends at 45)")
    args = parser.parse_args()
    return run_with_services("slidecast-redis-restart-",
                             lambda folder, server, db_url: run(args, folder, server, db_url))


def run(args, folder, server, db_url) -> int:
    clip = long_clip(folder / "long120.mp4")
    storage_url = str(folder / "data")
    web = make_web(db_url, server.url, server.url, storage_url)
    client = web.test_client()
    env = {"HEARTBEAT_SECONDS": 2, "HEARTBEAT_STALE_SECONDS": 20}
    workers = Workers(1, folder, db_url, server.url, server.url, storage_url, **env)
    beat = subprocess.Popen([sys.executable, "-m", "celery", "-A", "worker", "beat", "-s",
                             str(folder / "beat-schedule"), "-l", "INFO"], cwd=ROOT, env=dict(workers.env, **{
                                 k: str(v) for k, v in env.items()}),
                            stdout=open(folder / "beat.log", "ab"), stderr=subprocess.STDOUT)
    codes, began = collections.Counter(), time.monotonic()
    try:
        ids = submit_distinct(client, clip, args.jobs, ocr=False)

        def poll():
            docs = []
            for job_id in ids:
                response = client.get(f"/api/jobs/{job_id}")
                codes[response.status_code] += 1
                docs.append(response.get_json())
            return docs

        # Late in the first job's extraction by default, so that the outage covers the send of
        # its next step (at 0 %, from its start, it mostly ends before that send).
        wait_for(lambda: (lambda first: first["status"] != "queued" and first["progress"] >= args.at_progress)(
            poll()[0]), f"the first job to reach {args.at_progress} %")
        outage(server.stop, server.start, args.down, poll)
        back = time.time()
        docs = wait_for(lambda: (lambda d: d if all(x["status"] in FINAL for x in d) else None)(poll()),
                        "every job to finish", limit=900)
    finally:
        beat.terminate()
        beat.wait(30)
        workers.stop()
    once = ran_more_than_once(db_url, ids, workers)
    extracted = collections.Counter(workers.received_steps("slidecast.process_job"))
    report = {"jobs": len(ids), "redis_down_seconds": args.down, "seconds": round(time.monotonic() - began, 1),
              "statuses": dict(collections.Counter(d["status"] for d in docs)),
              "attempts": [d["attempts"] for d in docs], "errors": [d["error"] for d in docs if d["error"]],
              "poll_answers": dict(codes), **once,
              "extraction_received_twice": sorted(j for j, n in extracted.items() if n > 1),
              "sends_that_waited_for_the_broker": workers.log_text().count("the next message waits for it"),
              "first_step_received_after_redis_back_s": first_received_after(workers.log_text(), back)}
    print(json.dumps(report, indent=2))
    return exit_status({**once, "attempts over 1 in the API's documents": [d["id"] for d in docs if d["attempts"] > 1],
                        "extraction_received_twice": report["extraction_received_twice"],
                        "not every job succeeded": report["statuses"] != {"succeeded": len(ids)},
                        "a poll was not answered 200": set(codes) != {200}})

if __name__ == "__main__":
    raise SystemExit(main())
