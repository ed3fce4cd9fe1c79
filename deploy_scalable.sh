#!/usr/bin/env bash
# Slidecast: one script to set up, run and test the service. `./deploy_scalable.sh --help`.
set -euo pipefail
cd "$(dirname "$0")"

VENV=.venv
PY="$VENV/bin/python"
STAMP="$VENV/.slidecast-installed"
QUEUES="extraction,analysis,transcription,generation,maintenance,default"
WORKER_GROUPS="extraction analysis,transcription generation,maintenance,default"
PG_BIN=""

usage() {
  cat <<'EOF'
Usage: ./deploy_scalable.sh COMMAND

Commands:
  setup    create .venv and install Slidecast with the service and test dependencies at the
           versions of requirements/dev.txt (with uv, hashes checked); packages the lock does not list
           are removed (idempotent: does nothing when pyproject.toml and the lock are unchanged)
  lock [ARGS]
           remake the lock files requirements/{dev,service,slim}.txt from pyproject.toml with uv,
           keeping the versions they have; ARGS go to `uv pip compile` (--upgrade,
           --upgrade-package NAME). docs/dependencies.md says when and how.
  local    setup, migrate the database (flask db upgrade), then serve the API with gunicorn on
           http://127.0.0.1:${PORT:-5000} (HOST=0.0.0.0: on every interface); with
           CELERY_BROKER_URL or REDIS_URL set, also start a Celery worker per queue group,
           Celery beat and Flower on ${FLOWER_PORT:-5555}, on the same HOST (login
           FLOWER_BASIC_AUTH, generated and printed when unset). Ctrl-C stops everything,
           and so does any of them stopping (a crashed worker); jobs under way are taken up
           again at the next start. In production each role runs on its own (render.yaml).
           Embedded defaults: SQLite under instance/, files under data/, an in-process cache
           and a thread pool run the jobs.
  test     setup, make sure PostgreSQL and Redis answer on 127.0.0.1 (starting throwaway
           instances from the installed binaries when they do not), then run the test suite
           on two processes (TEST_PROCESSES=N for another count; arguments go to pytest).
           With CI=true a service that can be neither reached nor started is an error.
  demo     a newcomer's first minute: start the API on embedded defaults on a free port, make a
           45 s sample lecture video, submit it, show progress, download the PDF and notes into
           ./demo-output/, print where they are, stop the API.
  worker QUEUES
           one Celery worker for QUEUES (comma-separated, as Celery's -Q), e.g. `worker extraction`
           or `worker analysis,transcription`; concurrency WORKER_CONCURRENCY (default 2) or
           WORKER_AUTOSCALE=max,min (Celery's autoscaler), a fresh child process every
           WORKER_MAX_TASKS_PER_CHILD tasks (default 50). SIGTERM: running steps get
           WORKER_SOFT_SHUTDOWN_SECONDS (default 20) to finish, then go back to the queue.
  web      gunicorn with gunicorn.conf.py (PORT, WEB_CONCURRENCY, WEB_THREADS); migrates an embedded
           SQLite database first, never PostgreSQL (/api/health is 503 until `migrate` has run).
  migrate  flask db upgrade (Render's preDeployCommand runs the same).
  beat     Celery beat, the periodic tasks (run exactly one).
  flower   Flower on PORT (default 5555), behind basic auth from FLOWER_BASIC_AUTH (user:password).
  docker   build and start the docker-compose stack (API, workers, beat, Flower, PostgreSQL,
           Redis) where a Docker engine answers; says so and exits 1 where none does.
  render   check render.yaml (YAML, Render's required fields, consistency with docker-compose.yml,
           this script and the settings) and print the steps to deploy it.

Environment (see README.md / docs/service.md): PORT, DATABASE_URL, REDIS_URL,
CELERY_BROKER_URL, STORAGE_URL, THREAD_POOL_SIZE, MAX_UPLOAD_MB, WEB_CONCURRENCY, WEB_THREADS.
Operations (docs/operations.md): STORAGE_URL=s3://bucket/prefix with S3_ENDPOINT_URL, AWS_REGION,
AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY; LOG_FORMAT (json|text), LOG_LEVEL, METRICS_ENABLED;
WORKER_CONCURRENCY, WORKER_AUTOSCALE, WORKER_SOFT_SHUTDOWN_SECONDS, WORKER_MAX_TASKS_PER_CHILD,
FLOWER_BASIC_AUTH.
EOF
}

die() { echo "deploy_scalable.sh: $*" >&2; exit 1; }

# ---- setup --------------------------------------------------------------------------------
# Every install takes the exact versions of a lock file (requirements/*.txt, hashes checked)
# and installs Slidecast itself without dependencies; pyproject.toml keeps the ranges.
LOCK=requirements/dev.txt

setup() {
  local want
  want="$(cat pyproject.toml "$LOCK" | sha256sum | cut -d' ' -f1) $(${PYTHON:-python3} --version 2>&1)"
  if [[ -x "$PY" && -f "$STAMP" && "$(cat "$STAMP")" == "$want" ]]; then
    return 0
  fi
  command -v "${PYTHON:-python3}" >/dev/null || die "python3 not found (Python 3.10 or newer is needed)"
  [[ -x "$PY" ]] || "${PYTHON:-python3}" -m venv "$VENV"
  echo "==> installing Slidecast and the versions in $LOCK into $VENV"
  ensure_uv
  # uv installs the lock in seconds where pip takes minutes (it downloads and unpacks in parallel).
  local install=("$VENV/bin/uv" pip install --quiet --python "$PY" --no-deps)
  "${install[@]}" --require-hashes -r "$LOCK"
  if remove_unlocked "$LOCK"; then
    # Packages can share files (both OpenCV builds install cv2/): put the locked ones back whole.
    "${install[@]}" --require-hashes --reinstall -r "$LOCK"
  fi
  "${install[@]}" -e .
  echo "$want" > "$STAMP"
}

UV_VERSION=0.13.9
ensure_uv() {
  [[ -x "$VENV/bin/uv" ]] && return 0
  # A venv whose making was interrupted has python but no pip yet.
  "$PY" -m pip --version >/dev/null 2>&1 || "$PY" -m ensurepip --upgrade >/dev/null
  "$PY" -m pip install --quiet "uv==$UV_VERSION"
}

# A .venv made before the lock (or from an older one) may hold packages the lock leaves out,
# such as the GUI OpenCV that shadows the headless one: uninstall whatever the lock does not list
# (status 0 when something was removed).
remove_unlocked() {
  local extra
  extra="$("$PY" - "$1" <<'PYEOF'
import re, sys
from importlib import metadata
from packaging.markers import Marker

def canonical(name):
    return re.sub(r"[-_.]+", "-", name).lower()

locked = {"pip", "setuptools", "wheel", "uv", "slidecast"}
for line in open(sys.argv[1]):
    pin = re.match(r"([A-Za-z0-9][A-Za-z0-9._-]*)==[^ ;]+ *(?:; *([^\\]+))?", line)
    if pin and (not pin.group(2) or Marker(pin.group(2).strip()).evaluate()):
        locked.add(canonical(pin.group(1)))
print(" ".join(sorted({canonical(d.metadata["Name"]) for d in metadata.distributions()} - locked)))
PYEOF
)"
  [[ -n "$extra" ]] || return 1
  echo "==> removing packages the lock does not list: $extra"
  # shellcheck disable=SC2086
  "$VENV/bin/uv" pip uninstall --quiet --python "$PY" $extra
}

# Remake the lock files from pyproject.toml (and requirements/slim.in), keeping today's versions
# unless asked: `./deploy_scalable.sh lock --upgrade` or `lock --upgrade-package celery`.
lock() {
  [[ -x "$PY" ]] || "${PYTHON:-python3}" -m venv "$VENV"
  ensure_uv
  local compile=("$VENV/bin/uv" pip compile --quiet --generate-hashes --universal --python-version 3.10
                 --override requirements/overrides.txt "$@")
  "${compile[@]}" pyproject.toml --extra service --extra test -o requirements/dev.txt
  "${compile[@]}" pyproject.toml --extra service -c requirements/dev.txt -o requirements/service.txt
  "${compile[@]}" requirements/slim.in -o requirements/slim.txt
  # faster-whisper for an image built with WHISPER_MODEL (Dockerfile), at the service's versions
  "${compile[@]}" pyproject.toml --extra whisper -c requirements/service.txt -o requirements/whisper.txt
  echo "==> requirements/dev.txt, service.txt, slim.txt and whisper.txt are made; ./deploy_scalable.sh setup installs dev.txt"
}

# ---- local --------------------------------------------------------------------------------
# Children run in their own sessions (setsid): Ctrl-C reaches only this script, which then sends
# each of them one TERM. A second signal in the middle of gunicorn's graceful stop can deadlock
# its gthread worker, so they must not get the terminal's SIGINT as well.
CHILDREN=()
stop_children() {
  local pid
  for pid in "${CHILDREN[@]:-}"; do
    [[ -n "$pid" ]] && kill -TERM "$pid" 2>/dev/null || true
  done
  for pid in "${CHILDREN[@]:-}"; do
    [[ -n "$pid" ]] && wait "$pid" 2>/dev/null || true
  done
  CHILDREN=()
}

local_stack() {
  setup
  # A developer machine: listen on loopback only unless HOST says otherwise (the web and
  # flower roles on their own keep 0.0.0.0, which containers and Render need).
  export HOST="${HOST:-127.0.0.1}"
  export FLASK_APP=app
  echo "==> migrating the database"
  "$VENV/bin/flask" db upgrade
  trap 'echo; echo "==> stopping"; stop_children; exit 0' INT TERM
  trap 'stop_children' EXIT
  if [[ -n "${CELERY_BROKER_URL:-${REDIS_URL:-}}" ]]; then
    local group
    for group in $WORKER_GROUPS; do  # the same groups as render.yaml and docker-compose.yml
      echo "==> starting a Celery worker for $group"
      setsid "$0" worker "$group" &
      CHILDREN+=($!)
    done
    echo "==> starting Celery beat (stale-job sweep, retention)"
    setsid "$0" beat &
    CHILDREN+=($!)
    if [[ -z "${FLOWER_BASIC_AUTH:-}" ]]; then
      FLOWER_BASIC_AUTH="admin:$("$PY" -c 'import secrets; print(secrets.token_urlsafe(12))')"
      echo "==> FLOWER_BASIC_AUTH was not set; Flower's login for this run: $FLOWER_BASIC_AUTH"
    fi
    echo "==> starting Flower on http://$HOST:${FLOWER_PORT:-5555}"
    FLOWER_BASIC_AUTH="$FLOWER_BASIC_AUTH" PORT="${FLOWER_PORT:-5555}" setsid "$0" flower &
    CHILDREN+=($!)
  fi
  echo "==> serving http://$HOST:${PORT:-5000} (Ctrl-C stops)"
  # gunicorn.conf.py: PORT, WEB_CONCURRENCY, WEB_THREADS; metrics across workers; JSON logs.
  WEB_CONCURRENCY="${WEB_CONCURRENCY:-1}" setsid "$VENV/bin/gunicorn" -c gunicorn.conf.py 'app:create_app()' &
  CHILDREN+=($!)
  wait -n "${CHILDREN[@]}" || true
  echo "==> a process stopped (its log is above); stopping the rest. Start again: jobs under way are taken up again" >&2
  exit 1
}

# ---- test ---------------------------------------------------------------------------------
SCRATCH=""
cleanup_services() {
  if [[ -n "$SCRATCH" ]]; then
    if [[ -f "$SCRATCH/redis.pid" ]]; then
      kill "$(cat "$SCRATCH/redis.pid")" 2>/dev/null || true
      wait "$(cat "$SCRATCH/redis.pid")" 2>/dev/null || true
    fi
    [[ -d "$SCRATCH/pg" ]] && as_postgres "$PG_BIN/pg_ctl" -D "$SCRATCH/pg" -m immediate stop >/dev/null 2>&1 || true
    rm -rf "$SCRATCH"
  fi
}

missing_service() {
  if [[ "${CI:-}" == "true" ]]; then
    die "$1 (CI=true: the tests need it)"
  fi
  echo "deploy_scalable.sh: warning: $1; its tests will be skipped" >&2
}

as_postgres() {
  # initdb and postgres refuse to run as root.
  if [[ $EUID -eq 0 ]]; then runuser -u postgres -- "$@"; else "$@"; fi
}

free_port() { "$PY" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

postgres_answers() {
  "$PY" - "$1" <<'EOF' 2>/dev/null
import sys, psycopg2
psycopg2.connect(sys.argv[1], connect_timeout=2).close()
EOF
}

redis_answers() {
  "$PY" -c 'import sys, redis; redis.Redis.from_url(sys.argv[1], socket_connect_timeout=2).ping()' "$1" 2>/dev/null
}

ensure_postgres() {
  local admin="${TEST_PG_ADMIN_URL:-postgresql://postgres@127.0.0.1:5432/postgres}"
  [[ -n "${TEST_DATABASE_URL:-}" ]] && return 0
  postgres_answers "$admin" && return 0
  PG_BIN="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)"
  if [[ -z "$PG_BIN" || ! -x "$PG_BIN/initdb" ]]; then
    missing_service "PostgreSQL does not answer on 127.0.0.1:5432 and no initdb was found under /usr/lib/postgresql"
    return 0
  fi
  local port; port="$(free_port)"
  echo "==> starting a throwaway PostgreSQL on 127.0.0.1:$port"
  mkdir -p "$SCRATCH/pg"; chown postgres "$SCRATCH" "$SCRATCH/pg" 2>/dev/null || true
  as_postgres "$PG_BIN/initdb" -D "$SCRATCH/pg" -U postgres --auth=trust >/dev/null
  as_postgres "$PG_BIN/pg_ctl" -D "$SCRATCH/pg" -l "$SCRATCH/pg.log" -w \
    -o "-p $port -k $SCRATCH -c listen_addresses=127.0.0.1 -c fsync=off" start >/dev/null
  export TEST_PG_ADMIN_URL="postgresql://postgres@127.0.0.1:$port/postgres"
}

ensure_redis() {
  local url="${TEST_REDIS_URL:-redis://127.0.0.1:6379/15}"
  redis_answers "$url" && return 0
  if ! command -v redis-server >/dev/null; then
    missing_service "Redis does not answer at $url and redis-server is not installed"
    return 0
  fi
  local port; port="$(free_port)"
  echo "==> starting a throwaway Redis on 127.0.0.1:$port"
  redis-server --port "$port" --bind 127.0.0.1 --save "" --appendonly no --dir "$SCRATCH" \
    --logfile "$SCRATCH/redis.log" &
  echo $! > "$SCRATCH/redis.pid"
  export TEST_REDIS_URL="redis://127.0.0.1:$port/15"
  for _ in $(seq 50); do redis_answers "$TEST_REDIS_URL" && return 0; sleep 0.1; done
  die "the throwaway redis-server did not start"
}

ensure_browser() {
  command -v chromium >/dev/null && [[ -x /usr/bin/chromedriver ]] && return 0
  if [[ "${CI:-}" == "true" && $EUID -eq 0 ]] && command -v apt-get >/dev/null; then
    echo "==> installing chromium and chromedriver for the browser test (tests/service/test_browser.py)"
    # A new machine may have no package lists yet: update once, only when the install fails.
    apt-get install -y -q chromium chromium-driver >/dev/null 2>&1 ||
      { apt-get update -q >/dev/null && apt-get install -y -q chromium chromium-driver >/dev/null; } ||
      die "apt-get install -y chromium chromium-driver failed"
  else
    echo "deploy_scalable.sh: warning: chromium or /usr/bin/chromedriver is missing (apt-get install -y chromium chromium-driver); the browser test will be skipped" >&2
  fi
}

run_tests() {
  setup
  SCRATCH="$(mktemp -d /tmp/slidecast-test-services.XXXXXX)"
  chmod 755 "$SCRATCH"
  trap cleanup_services EXIT
  ensure_postgres
  ensure_redis
  ensure_browser
  echo "==> checking the import layers (lint-imports, pyproject.toml)"
  "$VENV/bin/lint-imports" --no-cache >/dev/null || "$VENV/bin/lint-imports" --no-cache
  # Two processes by default (TEST_PROCESSES=1 runs one): each has its own database, Redis
  # database and brokers (tests/support/services.py), and a file's tests stay on one process.
  "$PY" -m pytest -q -n "${TEST_PROCESSES:-2}" --dist loadfile "$@"
}

# ---- roles: web, migrate, worker, beat, flower (Docker and Render run these too) ----------
# Celery puts the working directory on sys.path only while it loads `-A worker`
# (celery.utils.imports.cwd_in_path); the tasks import top-level modules (job_storage, ...) later,
# in the worker's children. Keep the code folder importable for every process started here.
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"

# Outside a developer checkout (Docker image, Render) there is no .venv: use the tools on PATH.
tool() { if [[ -x "$VENV/bin/$1" ]]; then echo "$VENV/bin/$1"; else echo "$1"; fi; }

serve_web() {
  # Embedded SQLite (`docker run slidecast`) is one machine's own database: nothing else would
  # migrate it. PostgreSQL is migrated by `migrate` (Render's preDeployCommand, compose's migrate
  # service); until then /api/health answers 503 and says to run it.
  if [[ "${DATABASE_URL:-sqlite}" == sqlite* ]]; then
    migrate || die "flask db upgrade failed on ${DATABASE_URL:-the embedded SQLite database}"
  fi
  exec "$(tool gunicorn)" -c gunicorn.conf.py 'app:create_app()'
}

migrate() { "$(tool flask)" --app app db upgrade; }

worker() {
  local queues="${1:-}"
  [[ -n "$queues" && $# -eq 1 ]] || die "usage: ./deploy_scalable.sh worker QUEUES   (comma-separated, e.g. analysis,transcription)"
  # WORKER_AUTOSCALE=max,min (checked by settings.py when Celery loads the app): Celery adds
  # processes up to max while tasks wait and stops them down to min; else a fixed count.
  local processes=(-c "${WORKER_CONCURRENCY:-2}")
  [[ -n "${WORKER_AUTOSCALE:-}" ]] && processes=(--autoscale "$WORKER_AUTOSCALE")
  # SIGTERM (deploy, scale-down, docker stop) becomes Celery's soft-then-cold shutdown: running
  # steps get WORKER_SOFT_SHUTDOWN_SECONDS, then return to the queue for another worker.
  export REMAP_SIGTERM=SIGQUIT
  # -O fair: with prefetch 1 a long extraction never holds back short tasks behind it.
  exec "$(tool celery)" -A worker worker -Q "$queues" -n "${queues//,/-}@%h" \
    "${processes[@]}" --max-tasks-per-child "${WORKER_MAX_TASKS_PER_CHILD:-50}" -O fair -E -l INFO
}

beat() {
  # The schedule file must be writable by the (non-root) service user.
  exec "$(tool celery)" -A worker beat -l INFO --schedule "${BEAT_SCHEDULE_FILE:-/tmp/slidecast-beat-schedule}"
}

flower() {
  [[ -n "${FLOWER_BASIC_AUTH:-}" ]] || die "FLOWER_BASIC_AUTH is not set (user:password): Flower is not started without authentication"
  # Flower reads its login from FLOWER_BASIC_AUTH itself; on the command line anyone on the
  # machine would read it in the process list.
  export FLOWER_BASIC_AUTH
  exec "$(tool celery)" -A worker flower --address="${HOST:-0.0.0.0}" --port="${PORT:-5555}" \
    --conf=infra/flower_conf.py
}

# ---- demo ---------------------------------------------------------------------------------
DEMO_PID=""
DEMO_WORK=""
stop_demo_server() {
  if [[ -n "$DEMO_PID" ]]; then
    kill -TERM "$DEMO_PID" 2>/dev/null || true
    wait "$DEMO_PID" 2>/dev/null || true
    DEMO_PID=""
  fi
}

demo() {
  setup
  local work port out
  work="$(mktemp -d /tmp/slidecast-demo.XXXXXX)"
  DEMO_WORK="$work"
  port="$(free_port)"
  out="$PWD/demo-output"
  # Embedded defaults whatever the shell has set: SQLite, a local folder, the thread pool.
  export DATABASE_URL="sqlite:///$work/demo.db" STORAGE_URL="$work/data" REDIS_URL="" CELERY_BROKER_URL="" \
    REQUIRE_BROKER=false HOST=127.0.0.1 PORT="$port" WEB_CONCURRENCY=1 PROMETHEUS_MULTIPROC_DIR="$work/metrics"
  trap 'stop_demo_server; rm -rf "$DEMO_WORK"' EXIT
  trap 'echo; stop_demo_server; exit 130' INT TERM
  echo "==> preparing a database in $work"
  migrate >"$work/migrate.log" 2>&1 || { cat "$work/migrate.log" >&2; die "flask db upgrade failed"; }
  echo "==> starting the API on http://127.0.0.1:$port (log: $work/server.log)"
  setsid "$VENV/bin/gunicorn" -c gunicorn.conf.py 'app:create_app()' >"$work/server.log" 2>&1 &
  DEMO_PID=$!
  echo "==> making a 45 s sample lecture video"
  "$PY" -c 'import sys; from slidecast.synthetic import make_sample_lecture; make_sample_lecture(sys.argv[1], seconds=45)' \
    "$work/sample-lecture.mp4"
  mkdir -p "$out"
  "$PY" - "http://127.0.0.1:$port" "$work/sample-lecture.mp4" "$out" <<'PYEOF' || { tail -20 "$work/server.log" >&2; exit 1; }
import io, sys, time, zipfile
from pathlib import Path
import requests

base, video, out = sys.argv[1], Path(sys.argv[2]), Path(sys.argv[3])
for _ in range(300):  # the server imports the engine on start: allow it a while
    try:
        requests.get(f"{base}/api/health", timeout=2)
        break
    except requests.RequestException:
        time.sleep(0.2)
with video.open("rb") as f:
    response = requests.post(f"{base}/api/jobs", files={"file": (video.name, f, "video/mp4")}, timeout=120)
if response.status_code != 202:
    sys.exit(f"submit failed: HTTP {response.status_code}: {response.text[:500]}")
job = response.json()
print(f"==> submitted job {job['id']} (POST {base}/api/jobs -> 202, Location {response.headers.get('Location')})")
shown = None
while job["status"] in ("queued", "running"):
    line = f"    {job['status']:<8} {job.get('stage') or '':<12} {job.get('progress') or 0:5.1f}%"
    if line != shown:
        print(line, flush=True)
        shown = line
    time.sleep(0.5)
    job = requests.get(f"{base}/api/jobs/{job['id']}", timeout=10).json()
if job["status"] != "succeeded":
    sys.exit(f"the job ended {job['status']}: {job.get('error')}")
print(f"    succeeded: {job['slide_count']} slides from {job['video']['duration']:.0f} s of video")
# The archive, not the single files: notes.md links its slide pictures as slides/NNN.png.
got = requests.get(f"{base}/api/jobs/{job['id']}/archive.zip", timeout=120)
if got.status_code != 200:
    sys.exit(f"GET /api/jobs/{job['id']}/archive.zip: HTTP {got.status_code}: {got.text[:300]}")
with zipfile.ZipFile(io.BytesIO(got.content)) as archive:
    archive.extractall(out)
print(f"==> done. In {out} (with the slide pictures under slides/):")
for name in ("slides.pdf", "notes.md", "manifest.json"):
    print(f"    {out / name}  ({(out / name).stat().st_size} bytes)")
PYEOF
  echo "==> stopping the API"
}

# ---- docker -------------------------------------------------------------------------------
docker_stack() {
  command -v docker >/dev/null || { echo "deploy_scalable.sh docker: no docker command on this machine; install Docker, or use ./deploy_scalable.sh local" >&2; exit 1; }
  docker info >/dev/null 2>&1 || { echo "deploy_scalable.sh docker: no Docker engine answers here (docker info failed); start one, or use ./deploy_scalable.sh local" >&2; exit 1; }
  local compose=(docker compose)
  if ! docker compose version >/dev/null 2>&1; then
    command -v docker-compose >/dev/null || die "docker: neither 'docker compose' nor docker-compose is installed"
    compose=(docker-compose)
  fi
  "${compose[@]}" up --build -d "$@"
  "${compose[@]}" ps
  echo "==> API http://127.0.0.1:5000   Flower http://127.0.0.1:5555   (logs: ${compose[*]} logs -f)"
}

# ---- render -------------------------------------------------------------------------------
render_check() {
  setup
  "$PY" -c 'import sys, yaml; yaml.safe_load(open("render.yaml")); yaml.safe_load(open("docker-compose.yml"))' \
    || die "render.yaml or docker-compose.yml is not valid YAML"
  echo "==> checking render.yaml against docker-compose.yml, this script and infra/settings.py"
  "$PY" -m pytest -q -p no:cacheprovider tests/service/test_deploy_consistency.py || die "render.yaml is not consistent (see above)"
  cat <<'STEPS'
==> render.yaml is consistent. To deploy:
  1. Push this repository to GitHub or GitLab.
  2. Create an S3-compatible bucket (AWS S3, Cloudflare R2, Backblaze B2, ...) and a key that may
     read, write, list and delete in it. Set its name in render.yaml (STORAGE_URL s3://BUCKET/prefix).
  3. In the Render Dashboard: New > Blueprint, pick the repository; Render reads render.yaml.
  4. When asked, fill in AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY and S3_ENDPOINT_URL (empty for
     AWS itself) for the API and the workers, and FLOWER_BASIC_AUTH (user:password) for Flower.
  5. Apply. Each deploy runs `flask db upgrade` before the new API starts; watch
     https://slidecast-api.onrender.com/api/health turn "ok" and the workers appear in Flower.
  6. Scrape https://slidecast-api.onrender.com/metrics with Prometheus (see docs/operations.md).
STEPS
}

case "${1:-}" in
  setup) setup; echo "==> ready: $VENV" ;;
  lock) shift; lock "$@" ;;
  local) local_stack ;;
  test) shift; run_tests "$@" ;;
  demo) demo ;;
  worker) shift; worker "$@" ;;
  web) serve_web ;;
  migrate) migrate ;;
  beat) beat ;;
  flower) flower ;;
  docker) shift; docker_stack "$@" ;;
  render) render_check ;;
  -h|--help|help) usage ;;
  *) echo "deploy_scalable.sh: unknown command '$1'" >&2; usage >&2; exit 2 ;;
esac
