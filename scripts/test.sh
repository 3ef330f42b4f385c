#!/usr/bin/env bash
# Install everything the tests need and run the whole suite twice, side by side: on
# embedded SQLite, and on a throwaway PostgreSQL server started on loopback and stopped
# afterwards.
# Extra arguments go to pytest (e.g. scripts/test.sh -k units).
#
# scripts/test.sh --fast: the quick loop while editing: lint, then the statistics and
# the service tests (no browser, no reliability drills, no demo-database pages) on
# SQLite only; it assumes the set-up was done once (by this script without --fast).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$ROOT"

# The tests' temporary folders (per-test SQLite copies, instance folders) on tmpfs when
# there is room: SQLite runs with synchronous=FULL, and on disk every commit waits for
# fsync (measured: tests/web/test_admin.py, test_access_map.py, test_sessions.py took
# 125 s on disk and 63 s on /dev/shm, the same CPU time). Passed tests' folders are
# removed as they finish (tmp_path_retention_policy = "failed" in pyproject.toml).
TEST_TMP=""
if [[ -z "${SURVEY_TEST_ON_DISK:-}" && -d /dev/shm && -w /dev/shm ]] \
    && (( $(df -Pk /dev/shm | awk 'NR == 2 {print $4}') > 4 * 1024 * 1024 )); then
  TEST_TMP="$(mktemp -d /dev/shm/survey-tests.XXXXXX)"
  trap 'rm -rf "$TEST_TMP"' EXIT
fi
basetemp() { [[ -z "$TEST_TMP" ]] || echo "--basetemp=$TEST_TMP/$1"; }

if [[ "${1:-}" == "--fast" ]]; then
  shift
  "$VENV/bin/ruff" check .
  "$VENV/bin/ruff" format --check .
  "$VENV/bin/pytest" $(basetemp fast) -q -m "not browser and not slow and not demo" \
    --durations=10 tests/analysis tests/indices tests/weighting tests/test_*.py "$@"
  exit
fi

ensure_debian_packages chromium postgresql fonts-noto-core
ensure_debian_packages espeak-ng  # read-aloud audio (collection/audio.py)
ensure_debian_packages libpango-1.0-0 libpangoft2-1.0-0  # WeasyPrint (scorecard PDFs)
ensure_debian_packages nginx openssl  # tests/reliability/test_nginx.py (docs/nginx/survey.conf)
command -v npm >/dev/null 2>&1 || ensure_debian_packages npm
ensure_venv requirements-dev.txt
compile_translations
bash tests/browser/fetch_axe.sh  # axe-core for the accessibility checks, served locally

echo "==> lint"
"$VENV/bin/ruff" check .
"$VENV/bin/ruff" format --check .

# The two passes run side by side (each pytest process keeps about one of the two cores
# busy; one after the other they took 12 + 19 minutes). The SQLite pass prints as it
# goes; the PostgreSQL pass's output is printed whole when it ends. Both always run to
# the end, and the script fails if either failed. SURVEY_TEST_SEQUENTIAL=1 runs them one
# after the other (for timing one pass alone).
source "$ROOT/scripts/pg.sh"
pg_start
trap 'pg_stop; rm -rf "$TEST_TMP"' EXIT
PG_LOG="$(mktemp "${TEST_TMP:-/tmp}/postgresql-pass.XXXXXX.log")"
run_postgresql() {
  TEST_DATABASE_URL="$PG_URL" "$VENV/bin/pytest" $(basetemp postgresql) --durations=15 "$@"
}
pg_status=0
if [[ -z "${SURVEY_TEST_SEQUENTIAL:-}" ]]; then
  echo "==> test suite on PostgreSQL, started alongside (its output follows the SQLite pass)"
  run_postgresql "$@" >"$PG_LOG" 2>&1 &
  pg_pid=$!
fi

echo "==> test suite on SQLite"
sqlite_status=0
"$VENV/bin/pytest" $(basetemp sqlite) --durations=15 "$@" || sqlite_status=$?

echo "==> test suite on PostgreSQL"
if [[ -z "${SURVEY_TEST_SEQUENTIAL:-}" ]]; then
  wait "$pg_pid" || pg_status=$?
  cat "$PG_LOG"
else
  run_postgresql "$@" || pg_status=$?
fi

echo "==> SQLite pass: $( ((sqlite_status == 0)) && echo passed || echo "FAILED ($sqlite_status)"),"\
  "PostgreSQL pass: $( ((pg_status == 0)) && echo passed || echo "FAILED ($pg_status)")"
((sqlite_status == 0 && pg_status == 0))
