"""The embedded service's memory over jobs run one after another in one process.

    python bench/service_memory_bench.py [--jobs 6] [--options '{"ocr": "true"}']

The app on embedded defaults (SQLite, thread pool, files in a temporary folder) takes JOBS
uploads of the 30-s synthetic "cuts" clip, each with another sensitivity (so none is a repeat),
one after another; the process's RSS (/proc/self/status) is printed at the start and after each
job. Every job must succeed (the run fails otherwise). docs/benchmarks.md, "Stop 24".
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from flask_migrate import upgrade  # noqa: E402

from app import create_app  # noqa: E402
from slidecast.synthetic import make_clip  # noqa: E402


def rss_mb() -> int:
    return int(Path("/proc/self/status").read_text().split("VmRSS:")[1].split()[0]) // 1024


def run_job(client, clip: Path, number: int, options: dict) -> str:
    with open(clip, "rb") as fh:
        fields = {"file": (fh, f"cuts-{number}.mp4"), "sensitivity": str(0.5 + number * 0.01), **options}
        job = client.post("/api/jobs", data=fields).get_json()["id"]
    while (status := client.get(f"/api/jobs/{job}").get_json()["status"]) in ("queued", "running"):
        time.sleep(0.5)
    return status


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=6)
    parser.add_argument("--options", default='{"ocr": "true"}', help="form fields of each job, as JSON")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        clip = folder / "cuts.mp4"
        make_clip("cuts", clip)
        app = create_app({"SQLALCHEMY_DATABASE_URI": f"sqlite:///{folder / 'db.sqlite'}", "REDIS_URL": None,
                          "CELERY_BROKER_URL": None, "STORAGE_URL": str(folder / "data"),
                          "RECOVER_JOBS_ON_START": False, "RATE_LIMIT_SUBMIT": None, "RATE_LIMIT_READ": None})
        with app.app_context():
            upgrade(directory=str(ROOT / "migrations"))
        client = app.test_client()
        print(f"options {args.options}: start {rss_mb()} MB", flush=True)
        for number in range(args.jobs):
            status = run_job(client, clip, number, json.loads(args.options))
            print(f"job {number + 1}: {status}, {rss_mb()} MB", flush=True)
            if status != "succeeded":
                return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
