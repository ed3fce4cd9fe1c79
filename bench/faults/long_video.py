"""Fault 6 / scale: a 40-minute lecture split into chunks across 2 workers vs 1.

    python bench/faults/long_video.py [--minutes 40] [--chunk 600]

Renders a deterministic 40-minute lecture at 480x270 (slides of 20-60 s, some returns), then runs
the same job three times on a private Redis and a throwaway database: one worker without chunks
(CHUNK_SECONDS above the duration), one worker with chunks, two workers with chunks. Reports
wall time from submit to `succeeded`, the speed-up of 2 workers over 1, and whether the chunked
timelines equal the one-piece timeline (same slide count, transitions within 0.5 s, same same_as).
"""

from __future__ import annotations

import argparse
import json
import time

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
    from extensions import db
    from models import Slide
    with web.app_context():
        rows = db.session.scalars(sa.select(Slide).where(Slide.job_id == job_id).order_by(Slide.index)).all()
        return [(s.start, s.end, s.same_as) for s in rows]


def run_once(folder, clip, db_url, workers_count, chunk_seconds, tag):
    server = RedisServer(folder)
    storage_url = str(folder / f"data-{tag}")
    workers = Workers(workers_count, folder, db_url, server.url, server.url, storage_url,
                      CHUNK_SECONDS=chunk_seconds)
    try:
        web = make_web(db_url, server.url, server.url, storage_url)
        client = web.test_client()
        began = time.monotonic()
        job_id = submit(client, clip, ocr=False, pdf=False, notes=False)
        doc = wait_for(lambda: (lambda d: d if d["status"] in ("succeeded", "failed") else None)(
            client.get(f"/api/jobs/{job_id}").get_json()), "the job", limit=3600, step=0.5)
        seconds = time.monotonic() - began
        assert doc["status"] == "succeeded", doc["error"]
        return seconds, timeline(web, job_id), task_seconds(workers)
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


def same(a, b) -> bool:
    return len(a) == len(b) and all(abs(x[0] - y[0]) <= 0.5 and abs(x[1] - y[1]) <= 0.5 and x[2] == y[2]
                                    for x, y in zip(a, b))


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--minutes", type=float, default=40)
    parser.add_argument("--chunk", type=int, default=600)
    parser.add_argument("--size", default="480x270", help="WIDTHxHEIGHT of the rendered lecture")
    args = parser.parse_args()
    folder = scratch("slidecast-long-")
    try:
        began = time.monotonic()
        width, height = (int(v) for v in args.size.split("x"))
        clip = lecture(folder / "long.mp4", args.minutes, width, height)
        rendered = time.monotonic() - began
        with pg_database() as db_url:
            whole_s, whole, whole_t = run_once(folder, clip, db_url, 1, 10 ** 6, "whole")
            one_s, one, one_t = run_once(folder, clip, db_url, 1, args.chunk, "one")
            two_s, two, two_t = run_once(folder, clip, db_url, 2, args.chunk, "two")
        report = {"minutes": args.minutes, "size": args.size, "chunk_seconds": args.chunk, "render_seconds": round(rendered, 1),
                  "slides": len(whole), "one_worker_no_chunks_s": round(whole_s, 1),
                  "one_worker_chunks_s": round(one_s, 1), "two_workers_chunks_s": round(two_s, 1),
                  "speedup_two_vs_one": round(one_s / two_s, 2), "speedup_two_vs_unchunked": round(whole_s / two_s, 2),
                  "chunked_equals_whole": [same(whole, one), same(whole, two)],
                  "task_seconds": {"whole": whole_t, "one": one_t, "two": two_t}}
        print(json.dumps(report, indent=2))
        return 0 if all(report["chunked_equals_whole"]) else 1
    finally:
        remove(folder)


if __name__ == "__main__":
    raise SystemExit(main())
