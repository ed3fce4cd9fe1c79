"""Fault 6 / scale: a 40-minute lecture split into chunks across 2 workers vs 1.

    python bench/faults/long_video.py [--minutes 40] [--chunk 600] [--repeat 3] [--video PATH]
                                      [--wait-idle SECONDS]

Renders a deterministic 40-minute lecture at 480x270 (slides of 20-60 s, some returns; about a
minute), then runs the same job in three setups on a private Redis and a throwaway database: one
worker without chunks (CHUNK_SECONDS above the duration), one worker with chunks, two workers
with chunks; `--repeat` rounds of the three, interleaved, so a change in the machine's load
touches all three alike. Reports the median wall time from submit to `succeeded` per setup, the
speed-up of 2 workers over 1 (ratio of medians), and whether every chunked timeline equals the
one-piece timeline (same slide count, transitions within 0.5 s, same same_as). Per run: the
workers' CPU seconds (how much of the 2 cores a setup used), this process's CPU seconds (upload,
polling), all cores' busy seconds meanwhile (the rest is PostgreSQL, Redis and whatever else
runs on the machine), the load average, and with `--wait-idle` whether the run started on an
idle machine. `--video` keeps the rendered lecture at PATH for the next run (rendered if missing).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time
from pathlib import Path

from common import RedisServer, Workers, make_web, pg_database, remove, scratch, submit, wait_for


def lecture(path, minutes: float, width: int, height: int):
    import random
    from slidecast.synthetic import LectureSpec, SlideSpec, render_lecture
    rng, slides, total, new = random.Random(7), [], 0.0, 0
    while total < minutes * 60:
        seconds = rng.uniform(20, 60)
        slide_id = rng.randint(1, new) if new > 2 and rng.random() < 0.2 else None
        if slide_id is None or slide_id == slides[-1].slide_id:
            new += 1
            slide_id = new
        slides.append(SlideSpec(slide_id, seconds))
        total += seconds
    render_lecture(LectureSpec(slides=slides, width=width, height=height, seed=7, title="Long lecture"), path)
    return path


def timeline(web, job_id):
    import sqlalchemy as sa
    from infra.extensions import db
    from models import Slide
    with web.app_context():
        rows = db.session.scalars(sa.select(Slide).where(Slide.job_id == job_id).order_by(Slide.index)).all()
        return [(s.start, s.end, s.same_as) for s in rows]


def run_once(folder, clip, db_url, workers_count, chunk_seconds, tag):
    folder = folder / tag  # worker logs of this run only
    folder.mkdir()
    server = RedisServer(folder)
    storage_url = str(folder / "data")
    workers = Workers(workers_count, folder, db_url, server.url, server.url, storage_url,
                      CHUNK_SECONDS=chunk_seconds)
    try:
        web = make_web(db_url, server.url, server.url, storage_url)
        client = web.test_client()
        idle, busy, mine = cpu_seconds(workers), machine_busy(), time.process_time()  # not start-up
        began = time.monotonic()
        job_id = submit(client, clip, ocr=False, pdf=False, notes=False)
        doc = wait_for(lambda: (lambda d: d if d["status"] in ("succeeded", "failed") else None)(
            client.get(f"/api/jobs/{job_id}").get_json()), "the job", limit=3600, step=0.2)
        seconds = time.monotonic() - began
        assert doc["status"] == "succeeded", doc["error"]
        cpu = [round(b - a, 1) for a, b in zip(idle, cpu_seconds(workers))]
        busy = {"machine": round(machine_busy() - busy, 1), "bench": round(time.process_time() - mine, 1)}
        return seconds, timeline(web, job_id), task_seconds(workers), cpu, busy
    finally:
        workers.stop()
        server.stop()


def task_seconds(workers) -> dict:
    """Seconds per task name summed over the workers' logs ("Task X[...] succeeded in S s")."""
    import re
    totals: dict[str, float] = {}
    for log in workers.logs:
        for name, seconds in re.findall(r"Task (slidecast\.[a-z_.]+)\[[^\]]*\] succeeded in ([0-9.]+)s",
                                        log.read_text(errors="replace")):
            totals[name] = round(totals.get(name, 0.0) + float(seconds), 2)
    return totals


def cpu_seconds(workers) -> list[float]:
    """CPU seconds (user + system, all threads) each worker process has used so far."""
    ticks = os.sysconf("SC_CLK_TCK")
    used = []
    for proc in workers.procs:
        fields = Path(f"/proc/{proc.pid}/stat").read_text().rsplit(")", 1)[1].split()
        used.append((int(fields[11]) + int(fields[12])) / ticks)
    return used


def machine_busy() -> float:
    """CPU seconds all cores of the machine have spent busy (not idle or waiting) since boot."""
    values = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    return (sum(values[:8]) - values[3] - values[4]) / os.sysconf("SC_CLK_TCK")


def wait_idle(limit: float) -> bool:
    """Wait up to `limit` seconds for 5 s in which the machine's cores are under 15% busy (other
    sessions share it); True if such a moment came."""
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        before = machine_busy()
        time.sleep(5)
        if (machine_busy() - before) / (5 * os.cpu_count()) < 0.15:
            return True
    return False


def same(a, b) -> bool:
    return len(a) == len(b) and all(abs(x[0] - y[0]) <= 0.5 and abs(x[1] - y[1]) <= 0.5 and x[2] == y[2]
                                    for x, y in zip(a, b))


SETUPS = (("whole", 1, False), ("one", 1, True), ("two", 2, True))  # name, workers, chunked


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--minutes", type=float, default=40)
    parser.add_argument("--chunk", type=int, default=600)
    parser.add_argument("--size", default="480x270", help="WIDTHxHEIGHT of the rendered lecture")
    parser.add_argument("--repeat", type=int, default=3, help="rounds of the three setups (medians reported)")
    parser.add_argument("--video", help="keep the rendered lecture here and reuse it next time")
    parser.add_argument("--wait-idle", type=float, default=0,
                        help="before each run, wait up to this many seconds for the machine to be idle")
    args = parser.parse_args()
    folder = scratch("slidecast-long-")
    try:
        began = time.monotonic()
        width, height = (int(v) for v in args.size.split("x"))
        clip = Path(args.video) if args.video else folder / "long.mp4"
        if not clip.exists():
            lecture(clip, args.minutes, width, height)
        rendered = time.monotonic() - began
        runs = {name: [] for name, _, _ in SETUPS}
        with pg_database() as db_url:
            for round_ in range(args.repeat):
                for name, count, chunked in SETUPS:
                    idle = wait_idle(args.wait_idle) if args.wait_idle else None
                    load = os.getloadavg()[0]
                    chunk = args.chunk if chunked else 10 ** 6
                    seconds, slides, tasks, cpu, busy = run_once(folder, clip, db_url, count, chunk,
                                                                 f"{name}{round_}")
                    runs[name].append({"s": round(seconds, 1), "timeline": slides, "tasks": tasks, "cpu_s": cpu,
                                       "machine_busy_s": busy["machine"], "bench_cpu_s": busy["bench"],
                                       "load_before": round(load, 1), "started_idle": idle})
        print(json.dumps(summary(args, rendered, runs), indent=2))
        whole = runs["whole"][0]["timeline"]
        return 0 if all(same(whole, r["timeline"]) for rs in runs.values() for r in rs) else 1
    finally:
        remove(folder)


def summary(args, rendered: float, runs: dict) -> dict:
    median = {name: statistics.median(r["s"] for r in rs) for name, rs in runs.items()}
    whole = runs["whole"][0]["timeline"]
    return {"minutes": args.minutes, "size": args.size, "chunk_seconds": args.chunk, "repeat": args.repeat,
            "render_seconds": round(rendered, 1), "slides": len(whole),
            "one_worker_no_chunks_s": median["whole"], "one_worker_chunks_s": median["one"],
            "two_workers_chunks_s": median["two"],
            "speedup_two_vs_one": round(median["one"] / median["two"], 2),
            "speedup_two_vs_unchunked": round(median["whole"] / median["two"], 2),
            "chunked_equals_whole": [same(whole, r["timeline"]) for name in ("one", "two") for r in runs[name]],
            "runs": {name: [{k: v for k, v in r.items() if k != "timeline"} for r in rs] for name, rs in runs.items()}}


if __name__ == "__main__":
    raise SystemExit(main())
