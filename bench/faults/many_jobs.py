"""Fault 5: 200 jobs submitted at once to 2 workers: every one reaches a final state, none runs twice.

    python bench/faults/many_jobs.py [--jobs 200] [--workers 2]

"Twice" is checked three ways: the generation step (which publishes and succeeds) ran once per
job in the workers' logs, every job has attempts == 1, and no job has doubled slide rows.
Exits 1 when any of the three is seen, or a job did not succeed.
"""

from __future__ import annotations

import argparse
import collections
import json
import time

from common import (FINAL, Workers, exit_status, make_web, ran_more_than_once, run_with_services, submit_distinct,
                    wait_for)


def tiny_clip(path):
    from slidecast.synthetic import SlideSpec, clip_spec, render_lecture
    render_lecture(clip_spec("cuts", width=320, height=180, slides=[SlideSpec(i, 3.0) for i in (1, 2, 3)]), path)
    return path


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--jobs", type=int, default=200)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    return run_with_services("slidecast-many-", lambda folder, server, db_url: run(args, folder, server, db_url))


def run(args, folder, server, db_url) -> int:
    import sqlalchemy as sa
    from infra.extensions import db
    from models import Job, Slide
    clip = tiny_clip(folder / "tiny.mp4")
    storage_url = str(folder / "data")
    web = make_web(db_url, server.url, server.url, storage_url)
    client = web.test_client()
    workers = Workers(args.workers, folder, db_url, server.url, server.url, storage_url)
    try:
        began = time.monotonic()
        ids = submit_distinct(client, clip, args.jobs, ocr=False)
        submitted = time.monotonic() - began
        with web.app_context():
            def all_final():
                db.session.expire_all()
                return db.session.scalar(sa.select(sa.func.count()).where(Job.status.in_(FINAL))) == len(ids)
            wait_for(all_final, "every job to finish", limit=1800, step=1.0)
            elapsed = time.monotonic() - began
            statuses = collections.Counter(db.session.scalars(sa.select(Job.status)))
            attempts = collections.Counter(db.session.scalars(sa.select(Job.attempts)))
            slides = collections.Counter(db.session.scalars(sa.select(Slide.job_id)))
    finally:
        workers.stop()
    once = ran_more_than_once(db_url, ids, workers)
    generated = collections.Counter(workers.succeeded_steps("slidecast.generate"))
    report = {"jobs": len(ids), "workers": args.workers, "submit_seconds": round(submitted, 1),
              "all_final_seconds": round(elapsed, 1), "jobs_per_minute": round(60 * len(ids) / elapsed, 1),
              "statuses": dict(statuses), "attempts": dict(attempts), "generated_jobs": len(generated),
              "slide_rows_per_job": sorted(set(slides.values())),
              **{name: len(found) for name, found in once.items()}}
    print(json.dumps(report, indent=2))
    return exit_status({**once, "not every job succeeded": statuses.get("succeeded") != len(ids)})


if __name__ == "__main__":
    raise SystemExit(main())
