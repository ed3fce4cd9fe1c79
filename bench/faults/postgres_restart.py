"""Fault 3: restart PostgreSQL while a job runs: the API answers 503 problem+json meanwhile (or
serves the cached job document), and the job completes afterwards.

    python bench/faults/postgres_restart.py [--down 8]

A throwaway PostgreSQL cluster (initdb into a temporary folder, run as the postgres user, on a
free port) holds the job store; a private redis-server is broker and cache; one worker and beat
run. While the job is being extracted the cluster is stopped (fast shutdown) for --down seconds.
GET /api/jobs/<id> and GET /api/jobs are polled every 0.2 s; their answers are counted.
Exits 1 when the job did not succeed, an answer was 500, or the job ran more than once
(attempts > 1), was generated twice or has doubled slide rows.
"""

from __future__ import annotations

import argparse
import collections
import glob
import json
import os
import re
import shutil
import subprocess
import sys
import time

from common import (ROOT, FINAL, RedisServer, Workers, exit_status, free_port, make_web, migrate, outage,
                    ran_more_than_once, remove, scratch, submit, wait_for)
from redis_restart import long_clip


class Cluster:
    def __init__(self, folder):
        self.bin = sorted(glob.glob("/usr/lib/postgresql/*/bin"))[-1]
        self.data, self.port = folder / "pg", free_port()
        self.data.mkdir()
        shutil.chown(folder, "postgres")
        shutil.chown(self.data, "postgres")
        self._as_postgres("initdb", "-D", str(self.data), "-A", "trust", "-U", "postgres")
        self.url = f"postgresql+psycopg2://postgres@127.0.0.1:{self.port}/postgres"

    def _as_postgres(self, tool, *args):
        subprocess.run(["runuser", "-u", "postgres", "--", os.path.join(self.bin, tool), *args], check=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def start(self):
        self._as_postgres("pg_ctl", "-D", str(self.data), "-l", str(self.data / "log"), "-w", "-o",
                          f"-p {self.port} -k {self.data} -c listen_addresses=127.0.0.1", "start")

    def stop(self):
        self._as_postgres("pg_ctl", "-D", str(self.data), "-m", "fast", "-w", "stop")


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--down", type=float, default=8.0)
    args = parser.parse_args()
    folder = scratch("slidecast-pg-restart-")
    os.chmod(folder, 0o755)
    cluster = Cluster(folder)
    cluster.start()
    server = RedisServer(folder)
    try:
        migrate(cluster.url)
        return run(args, folder, server, cluster)
    finally:
        server.stop()
        try:
            cluster.stop()
        except subprocess.CalledProcessError:
            pass
        remove(folder)


def run(args, folder, server, cluster) -> int:
    clip = long_clip(folder / "long120.mp4")
    storage_url = str(folder / "data")
    web = make_web(cluster.url, server.url, server.url, storage_url)
    client = web.test_client()
    env = {"HEARTBEAT_SECONDS": 2, "HEARTBEAT_STALE_SECONDS": 30}
    workers = Workers(1, folder, cluster.url, server.url, server.url, storage_url, **env)
    beat = subprocess.Popen([sys.executable, "-m", "celery", "-A", "worker", "beat", "-s",
                             str(folder / "beat-schedule"), "-l", "INFO"], cwd=ROOT,
                            env=dict(workers.env, **{k: str(v) for k, v in env.items()}),
                            stdout=open(folder / "beat.log", "ab"), stderr=subprocess.STDOUT)
    answers = collections.Counter()
    began = time.monotonic()
    try:
        job_id = submit(client, clip, ocr=False)

        def poll():
            doc = client.get(f"/api/jobs/{job_id}")
            listing = client.get("/api/jobs")
            for name, response in (("job", doc), ("list", listing)):
                answers[f"{name} {response.status_code} {response.mimetype}"] += 1
            return doc.get_json() if doc.status_code == 200 else None

        wait_for(lambda: (poll() or {}).get("status") == "running", "the job to start")
        outage(cluster.stop, cluster.start, args.down, poll)
        final = wait_for(lambda: (lambda d: d if d and d["status"] in FINAL else None)(poll()), "the job to finish",
                         limit=600)
    finally:
        beat.terminate()
        beat.wait(30)
        workers.stop()
    once = ran_more_than_once(cluster.url, [job_id], workers)
    report = {"postgres_down_seconds": args.down, "seconds": round(time.monotonic() - began, 1),
              "status": final["status"], "attempts": final["attempts"], "error": final["error"],
              "answers": dict(answers), "slides": final["slide_count"],
              # whether the outage met the step: each Celery retry is received again; a database wait is not
              "extraction_received": len(workers.received_steps("slidecast.process_job")),
              "transient_faults_logged": len(re.findall(r"transient fault|cannot claim the job now|database unreachable \(", workers.log_text())),
              **once}
    print(json.dumps(report, indent=2))
    return exit_status({**once, "the job did not succeed": final["status"] != "succeeded",
                        "an answer was 500": any(" 500 " in key for key in answers)})


if __name__ == "__main__":
    raise SystemExit(main())
