"""Gunicorn settings for `gunicorn -c gunicorn.conf.py 'app:create_app()'` (deploy_scalable.sh, Docker,
Render).

Environment: HOST (default 0.0.0.0), PORT (default 5000; Render sets it), WEB_CONCURRENCY (worker
processes, default 2), WEB_THREADS (threads per worker, default 4), WEB_TIMEOUT (default 120 s:
uploads of large videos), PROMETHEUS_MULTIPROC_DIR (default: a fresh folder under /tmp).
"""

import glob
import os
import tempfile

# Before any worker imports prometheus_client: the metric values of every worker go to files in
# this folder and /metrics sums them (see infra/metrics.py). Without it each scrape would see only the
# one worker that answered it.
if not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = os.path.join(tempfile.gettempdir(), f"slidecast-metrics-{os.getpid()}")

bind = f"{os.environ.get('HOST') or '0.0.0.0'}:{os.environ.get('PORT') or '5000'}"
workers = int(os.environ.get("WEB_CONCURRENCY") or 2)
threads = int(os.environ.get("WEB_THREADS") or 4)
timeout = int(os.environ.get("WEB_TIMEOUT") or 120)
graceful_timeout = 30
# Each worker builds its own app (database pool, Redis client, thread pool): no preload, so no
# connection is shared across a fork.
preload_app = False
# The control socket has one default path per user: several servers on one machine would collide.
control_socket_disable = True
# gunicorn's default: the method, URL and version of a request together (a longer URL is a 414,
# answered as problem+json: infra/gunicorn_errors.py).
limit_request_line = 4094
accesslog = None  # requests are counted and timed in /metrics; errors are logged by the app
errorlog = "-"


# Imported after the metrics folder is chosen: prometheus_client reads it when first imported.
from infra.gunicorn_errors import json_request_errors  # noqa: E402
from infra.logging import gunicorn_logconfig  # noqa: E402
from infra.metrics import mark_process_dead  # noqa: E402
from infra.settings import settings_or_exit  # noqa: E402

# A bad setting stops gunicorn here with its one line (exit 2), before any worker starts: a
# worker that fails to boot would otherwise leave a master running with no workers.
settings_or_exit()
logconfig_dict = gunicorn_logconfig()
json_request_errors(limit_request_line)


def on_starting(server):
    """Files left by a previous run would be summed into this run's counters: start empty.
    Only prometheus_client's own files (*.db) are removed, whatever folder was configured."""
    folder = os.environ["PROMETHEUS_MULTIPROC_DIR"]
    os.makedirs(folder, exist_ok=True)
    for path in glob.glob(os.path.join(folder, "*.db")):
        os.unlink(path)


def child_exit(server, worker):
    """A worker died or was recycled: drop its live-gauge files (counters keep their totals)."""
    mark_process_dead(worker.pid)


def worker_exit(server, worker):
    """A worker stops (SIGTERM, a deploy, max_requests): before its interpreter shuts down, the jobs
    on its thread pool go back to `queued` for the next start (JobExecutor.hand_back). The master
    calls this too, for each worker it reaps: it has no app there."""
    app = getattr(worker, "wsgi", None)
    executor = getattr(app, "extensions", {}).get("slidecast.executor")
    if executor is not None:
        executor.hand_back()
