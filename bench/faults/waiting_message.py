"""How long a job reads "waiting for a worker of the X queue" between its Celery steps.

    python bench/faults/waiting_message.py [--jobs 3] [--clip VIDEO] [--transcribe]

One worker on every queue (idle: it takes each step at once), a private redis-server as broker
and cache, a throwaway PostgreSQL database. Each job (--clip, default the generated 30 s "cuts"
clip; OCR on, transcription with --transcribe) runs alone and is polled every 20 ms; printed per job: every (stage, message) it showed and for
how long, and the total time a "waiting for a worker" message was visible.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from common import Workers, make_web, run_with_services, submit

FINAL = ("succeeded", "failed", "cancelled")


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--jobs", type=int, default=3)
    parser.add_argument("--clip", type=Path, help="the video (default: the generated cuts clip)")
    parser.add_argument("--transcribe", action="store_true", help="also transcribe (a step that copies the video)")
    args = parser.parse_args()
    return run_with_services("slidecast-waiting-", lambda folder, server, db_url: run(args, folder, server, db_url))


def run(args, folder, server, db_url) -> int:
    from slidecast.synthetic import make_clip
    clip = args.clip or folder / "cuts.mp4"
    if args.clip is None:
        make_clip("cuts", clip)
    storage_url = str(folder / "data")
    web = make_web(db_url, server.url, server.url, storage_url, JOB_NEAR_CACHE_SECONDS=0)
    client = web.test_client()
    workers = Workers(1, folder, db_url, server.url, server.url, storage_url)
    try:
        # One after the other: the worker is idle when each step is sent. Another sensitivity each
        # time: the same upload with the same options would be answered with the first job.
        for n in range(args.jobs):
            job_id = submit(client, clip, ocr=True, transcribe=args.transcribe, sensitivity=0.4 + n / 100)
            shown = follow(client, job_id)
            for (began, what), (ended, _) in zip(shown, shown[1:] + [shown[-1]]):
                print(f"{job_id[:8]} {began:6.2f}-{ended:6.2f} s ({ended - began:5.2f} s) {what}")
            waiting = sum(ended - began for (began, what), (ended, _) in zip(shown, shown[1:])
                          if "waiting for a worker" in (what[2] or ""))
            print(f"{job_id[:8]}: ended {shown[-1][1][0]}, 'waiting for a worker' visible {waiting:.2f} s")
    finally:
        workers.stop()
    return 0


def follow(client, job_id: str) -> list[tuple[float, tuple]]:
    """(seconds since the first poll, (status, stage, message)) at each change, until it ends."""
    shown, start = [], time.monotonic()
    while True:
        doc = client.get(f"/api/jobs/{job_id}").get_json()
        what = (doc["status"], doc["stage"], doc["message"])
        if not shown or shown[-1][1] != what:
            shown.append((round(time.monotonic() - start, 2), what))
        if doc["status"] in FINAL:
            return shown
        time.sleep(0.02)


if __name__ == "__main__":
    raise SystemExit(main())
