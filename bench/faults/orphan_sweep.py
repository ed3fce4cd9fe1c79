"""Files a killed process wrote for a deleted job: left behind, then removed by the sweep.

    python bench/faults/orphan_sweep.py [--slides 40]

Embedded mode, for real: a gunicorn server (SQLite, local storage, thread pool) runs a job;
the moment it starts publishing it is stopped (SIGSTOP), a second web process deletes the job
through the API (204: rows and files gone), the server goes on (SIGCONT) and is killed (kill -9)
as soon as it wrote a file of the deleted job again. A second job, finished, stays throughout.
Then: the server starts again (its first hourly upkeep runs at start), the orphan's files are
made a day old (os.utime: the grace is a day), and `flask jobs expire` runs. The file count of
each job's folder is printed after every stage; exits 1 when the orphan was not left by the
kill (nothing to measure: run again), 2 when the sweep did not remove it or touched the live job.
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))


def files(folder: Path) -> int:
    return sum(1 for p in folder.rglob("*") if p.is_file()) if folder.exists() else 0


def clip(path: Path, slides: int) -> Path:
    from slidecast.synthetic import SlideSpec, clip_spec, render_lecture
    render_lecture(clip_spec("cuts", width=640, height=360, slides=[SlideSpec(i, 1.5) for i in range(1, slides + 1)]),
                   path)
    return path


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--slides", type=int, default=40)
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="slidecast-orphans-"))
    try:
        return run(folder, args.slides)
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def run(folder: Path, slides: int) -> int:
    video = clip(folder / "talk.mp4", slides)
    env = env_for(folder)
    migrate(env)
    jobs = folder / "data" / "jobs"
    with server(env, folder / "web1.log") as (base, proc):
        kept = requests.post(f"{base}/api/jobs", files={"file": ("kept.mp4", video.read_bytes())},
                             data={"ocr": "false"}).json()["id"]
        wait_final(base, kept)
        for attempt in range(1, 6):
            doomed = requests.post(f"{base}/api/jobs", files={"file": ("doomed.mp4", video.read_bytes())},
                                   data={"ocr": "false", "notes": "false", "sensitivity": str(0.5 + attempt / 100)}
                                   ).json()["id"]
            out = jobs / doomed / "out"
            poll(lambda: out.exists(), 300)
            os.kill(proc.pid, signal.SIGSTOP)
            print(f"try {attempt}: job {doomed} publishing: server stopped with {files(jobs / doomed)} files in its folder")
            deleted = subprocess.run([sys.executable, "-c", DELETE, doomed], env=env, cwd=ROOT, capture_output=True,
                                     text=True)
            print(f"  DELETE from another web process: {deleted.stdout.strip()} {deleted.stderr.strip()[-300:]}")
            print(f"  after the delete: {files(jobs / doomed)} files")
            os.kill(proc.pid, signal.SIGCONT)
            try:
                poll(lambda: files(jobs / doomed) > 0, 10, step=0.0005)
            except TimeoutError:  # its write failed on the removed folder, and it cleaned up: the service's own way
                print("  the server wrote nothing more (its write met the removed folder; it removed its files)")
                continue
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait()
            break
    left, live = files(jobs / doomed), files(jobs / kept)
    print(f"kill -9 after it wrote again: {left} files of the deleted job left; live job {live} files")
    if not left:
        return 1
    with server(env, folder / "web2.log") as (base, proc):
        time.sleep(3)  # the hourly upkeep's first run, at start
        print(f"server restarted (upkeep at start): deleted job {files(jobs / doomed)} files, "
              f"live job {files(jobs / kept)} files")
        by_hand = dict(env, RECOVER_JOBS_ON_START="false")  # else the command's own app runs an upkeep thread too
        early = subprocess.run([sys.executable, "-m", "flask", "--app", "app", "jobs", "expire"], env=by_hand, cwd=ROOT,
                               capture_output=True, text=True)
        print(f"flask jobs expire at once: {early.stdout.strip()!r}; deleted job {files(jobs / doomed)} files")
        when = time.time() - 25 * 3600
        for path in [jobs / doomed, *(jobs / doomed).rglob("*")]:
            os.utime(path, (when, when))
        late = subprocess.run([sys.executable, "-m", "flask", "--app", "app", "jobs", "expire"], env=by_hand, cwd=ROOT,
                              capture_output=True, text=True)
        print(f"flask jobs expire, files 25 h old: {late.stdout.strip()!r}; deleted job {files(jobs / doomed)} "
              f"files, live job {files(jobs / kept)} files; live job's PDF "
              f"{requests.get(f'{base}/api/jobs/{kept}/pdf').status_code}")
    return 0 if not (jobs / doomed).exists() and files(jobs / kept) == live else 2


def env_for(folder: Path) -> dict:
    return dict(os.environ, DATABASE_URL=f"sqlite:///{folder / 'slidecast.db'}", STORAGE_URL=str(folder / "data"),
                REDIS_URL="", CELERY_BROKER_URL="", RECOVER_JOBS_ON_START="true", LOG_FORMAT="TEXT",
                PYTHONPATH=str(ROOT))


def migrate(env: dict) -> None:
    subprocess.run([sys.executable, "-m", "flask", "--app", "app", "db", "upgrade"], env=env, cwd=ROOT, check=True,
                   capture_output=True)


@contextmanager
def server(env: dict, log: Path):
    """`flask run`: one process, its thread pool in it (what kill -9 ends)."""
    port = free_port()
    with open(log, "ab") as out:
        proc = subprocess.Popen([sys.executable, "-m", "flask", "--app", "app", "run", "--port", str(port)], env=env,
                                cwd=ROOT, stdout=out, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        poll(lambda: _answers(f"{base}/api/health"), 60, step=0.2)
        yield base, proc
    finally:
        if proc.poll() is None:
            proc.terminate()
            proc.wait(30)


def _answers(url: str) -> bool:
    try:
        return requests.get(url, timeout=2).status_code == 200
    except requests.RequestException:
        return False


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


DELETE = """import sys
from app import create_app
app = create_app({"RECOVER_JOBS_ON_START": False})
print("DELETE", app.test_client().delete(f"/api/jobs/{sys.argv[1]}").status_code)
"""


def wait_final(base: str, job_id: str) -> None:
    poll(lambda: requests.get(f"{base}/api/jobs/{job_id}").json()["status"] in ("succeeded", "failed", "cancelled"),
         300, step=0.5)


def poll(check, limit: float, step: float = 0.001) -> None:
    deadline = time.monotonic() + limit
    while not check():
        if time.monotonic() > deadline:
            raise TimeoutError(f"gave up after {limit} s")
        time.sleep(step)


if __name__ == "__main__":
    sys.exit(main())
