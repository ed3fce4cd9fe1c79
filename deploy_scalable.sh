#!/usr/bin/env bash
# Slidecast: one script to set up, run and test the service. `./deploy_scalable.sh --help`.
set -euo pipefail
cd "$(dirname "$0")"

VENV=.venv
PY="$VENV/bin/python"
STAMP="$VENV/.slidecast-installed"
QUEUES="extraction,analysis,transcription,generation,maintenance,default"
PG_BIN=""

usage() {
  cat <<'EOF'
Usage: ./deploy_scalable.sh COMMAND

Commands:
  setup    create .venv and install Slidecast with its service and test dependencies
           (idempotent: does nothing when pyproject.toml has not changed since the last run)
  local    setup, migrate the database (flask db upgrade), then serve the API with gunicorn on
           http://127.0.0.1:${PORT:-5000}; with CELERY_BROKER_URL or REDIS_URL set, also start a
           Celery worker for all queues. Ctrl-C stops everything.
           Embedded defaults: SQLite under instance/, files under data/, an in-process cache
           and a thread pool run the jobs.
  test     setup, make sure PostgreSQL and Redis answer on 127.0.0.1 (starting throwaway
           instances from the installed binaries when they do not), then run the test suite.
           With CI=true a service that can be neither reached nor started is an error.

Environment (see README.md / docs/service.md): PORT, DATABASE_URL, REDIS_URL,
CELERY_BROKER_URL, STORAGE_URL, THREAD_POOL_SIZE, MAX_UPLOAD_MB, WEB_CONCURRENCY, WEB_THREADS.
EOF
}

die() { echo "deploy_scalable.sh: $*" >&2; exit 1; }

# ---- setup --------------------------------------------------------------------------------
setup() {
  local want
  want="$(sha256sum pyproject.toml | cut -d' ' -f1) $(${PYTHON:-python3} --version 2>&1)"
  if [[ -x "$PY" && -f "$STAMP" && "$(cat "$STAMP")" == "$want" ]]; then
    return 0
  fi
  command -v "${PYTHON:-python3}" >/dev/null || die "python3 not found (Python 3.10 or newer is needed)"
  [[ -x "$PY" ]] || "${PYTHON:-python3}" -m venv "$VENV"
  echo "==> installing Slidecast and its dependencies into $VENV"
  "$PY" -m pip install --quiet --upgrade pip
  "$PY" -m pip install --quiet -e '.[service,test]'
  echo "$want" > "$STAMP"
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
  export FLASK_APP=app
  echo "==> migrating the database"
  "$VENV/bin/flask" db upgrade
  trap 'echo; echo "==> stopping"; stop_children; exit 0' INT TERM
  trap 'stop_children' EXIT
  if [[ -n "${CELERY_BROKER_URL:-${REDIS_URL:-}}" ]]; then
    echo "==> starting a Celery worker (queues $QUEUES)"
    setsid "$VENV/bin/celery" -A celery_config worker -Q "$QUEUES" -c "${WORKER_CONCURRENCY:-2}" -l INFO &
    CHILDREN+=($!)
  fi
  echo "==> serving http://127.0.0.1:${PORT:-5000} (Ctrl-C stops)"
  setsid "$VENV/bin/gunicorn" app:app --bind "0.0.0.0:${PORT:-5000}" --workers "${WEB_CONCURRENCY:-1}" \
    --threads "${WEB_THREADS:-4}" --timeout 120 --access-logfile - &
  CHILDREN+=($!)
  wait -n "${CHILDREN[@]}" || true
  echo "==> a process stopped; stopping the rest" >&2
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

run_tests() {
  setup
  SCRATCH="$(mktemp -d /tmp/slidecast-test-services.XXXXXX)"
  chmod 755 "$SCRATCH"
  trap cleanup_services EXIT
  ensure_postgres
  ensure_redis
  "$PY" -m pytest -q "$@"
}

case "${1:-}" in
  setup) setup; echo "==> ready: $VENV" ;;
  local) local_stack ;;
  test) shift; run_tests "$@" ;;
  -h|--help|help) usage ;;
  *) usage >&2; exit 2 ;;
esac
