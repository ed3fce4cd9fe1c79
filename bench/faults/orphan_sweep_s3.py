"""What the sweep of job folders costs on S3: requests it makes, against moto's server.

    python bench/faults/orphan_sweep_s3.py [--jobs 60] [--objects 10] [--orphans 5]

`--jobs` jobs with a row and `--orphans` folders of no job, `--objects` objects each, all a day
and more old as the sweep sees them (its `now` is moved on by the grace: moto dates objects by
its own clock). Prints the S3 requests of one sweep by operation, and what a listing of every
object (what a sweep without the Delimiter would read) costs on the same bucket.
"""

from __future__ import annotations

import argparse
import collections
import os
import subprocess
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

import boto3

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--jobs", type=int, default=60)
    parser.add_argument("--objects", type=int, default=10)
    parser.add_argument("--orphans", type=int, default=5)
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT / "tests"))
    from support.ops_helpers import start_moto, stop
    proc, endpoint = start_moto()
    try:
        return run(args, endpoint)
    finally:
        stop(proc)


def run(args, endpoint: str) -> int:
    from app import create_app
    from infra.extensions import db, job_store, storage
    from jobs.recovery import ORPHAN_GRACE, remove_orphans
    from models import Job, new_id, utcnow
    keys = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_REGION": "us-east-1"}
    s3 = boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1", aws_access_key_id="testing",
                      aws_secret_access_key="testing")
    s3.create_bucket(Bucket="sweep")
    folder = Path(tempfile.mkdtemp(prefix="slidecast-sweep-s3-"))
    app = create_app({"SQLALCHEMY_DATABASE_URI": f"sqlite:///{folder / 'db.sqlite'}", "REDIS_URL": None,
                      "CELERY_BROKER_URL": None, "RECOVER_JOBS_ON_START": False, "STORAGE_URL": "s3://sweep/prod",
                      "S3_ENDPOINT_URL": endpoint, **keys})
    subprocess.run([sys.executable, "-m", "flask", "--app", "app", "db", "upgrade"], cwd=ROOT, check=True,
                   capture_output=True, env=dict(os.environ, DATABASE_URL=f"sqlite:///{folder / 'db.sqlite'}",
                                                 PYTHONPATH=str(ROOT)))
    with app.app_context():
        live = [job_store().create(Job(executor="celery"))["id"] for _ in range(args.jobs)]
        orphans = [new_id() for _ in range(args.orphans)]
        started = time.monotonic()
        for job_id in live + orphans:
            for n in range(args.objects):
                s3.put_object(Bucket="sweep", Key=f"prod/jobs/{job_id}/out/slides/{n:03d}.png", Body=b"x")
        print(f"{len(live)} jobs + {len(orphans)} orphans x {args.objects} objects put in "
              f"{time.monotonic() - started:.1f} s")
        calls = collections.Counter()
        client = storage().client
        client.meta.events.register("before-call.s3.*", lambda model, **_: calls.update([model.name]))
        started = time.monotonic()
        removed = remove_orphans(now=utcnow() + ORPHAN_GRACE + timedelta(minutes=5))
        took = time.monotonic() - started
        print(f"sweep: removed {removed} folders in {took:.2f} s; S3 requests {dict(calls)}")
        calls.clear()
        listed = sum(len(page.get("Contents", [])) for page in client.get_paginator("list_objects_v2").paginate(
            Bucket="sweep", Prefix="prod/jobs/"))
        print(f"a listing of every object instead: {dict(calls)} for {listed} objects")
        left = {name for name in storage().folders("jobs")}
        db.session.remove()
    ok = left == set(live) and removed == len(orphans)
    print("live jobs' folders all kept, orphans all removed" if ok else f"WRONG: left {len(left)}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
