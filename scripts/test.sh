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

# The test processes (the pytest runs, and the command lines, servers and helpers they
# start) keep Python's bytecode cache even where PYTHONDONTWRITEBYTECODE is set (it is on
# these machines): without it each process compiled the app's and the tests'
# modules from source again, and pytest rewrote every test module's assertions again
# (measured: `scripts/test.sh --fast` 67-71 s without the cache, 55-60 s with it;
# collecting the whole suite 9.3 s against 5.1 s). The cache goes into __pycache__
# folders, which git ignores.
unset PYTHONDONTWRITEBYTECODE

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
fetch_plotly  # tests/test_plotly_bundle.py checks the charts load the basic bundle
bash tests/browser/fetch_axe.sh  # axe-core for the accessibility checks, served locally

echo "==> lint"
"$VENV/bin/ruff" check .
"$VENV/bin/ruff" format --check .

# The two passes run side by side, each split in parts (alternate test files;
# SURVEY_TEST_PARTS, default 2), so that several pytest processes share the two cores to
# the end: one process per pass left the PostgreSQL pass running alone, a core half
# idle, for its last third. The first SQLite part prints as it goes; the others print
# whole when they end. All run to the end and the script fails if any failed. Extra
# arguments (e.g. -k units, or test paths) run each pass as one process.
# SURVEY_TEST_SEQUENTIAL=1 runs the two passes one after the other, each as one process
# (for timing one pass alone).
source "$ROOT/scripts/pg.sh"
# The server's data next to the tests' folders (tmpfs when there is room; see pg.sh).
PG_PARENT="$(dirname "${TEST_TMP:-/tmp/x}")" pg_start
# What the test processes share (tests/conftest.py): the spoken texts of espeak-ng, and
# per database the demo province, seeded once by whichever process needs it first.
SURVEY_TEST_SHARED="$(mktemp -d "${TEST_TMP:-/tmp}/shared.XXXXXX")"
export SURVEY_TEST_SHARED
trap 'pg_stop; rm -rf "$TEST_TMP" "$SURVEY_TEST_SHARED"' EXIT
run_pass() {  # run_pass NAME DATABASE_URL(empty: SQLite) PYTEST_ARGS...
  local name="$1" url="$2"
  shift 2
  if [[ -n "$url" ]]; then
    TEST_DATABASE_URL="$url" "$VENV/bin/pytest" $(basetemp "$name") --durations=15 "$@"
  else
    "$VENV/bin/pytest" $(basetemp "$name") --durations=15 "$@"
  fi
}
# SURVEY_TEST_PARTS: how many processes each pass is split into (alternate test files).
parts_per_pass="${SURVEY_TEST_PARTS:-2}"
[[ "$parts_per_pass" =~ ^[1-9][0-9]*$ ]] || { echo "SURVEY_TEST_PARTS: a whole number" >&2; exit 2; }
parts=()
if (($# == 0)) && [[ -z "${SURVEY_TEST_SEQUENTIAL:-}" ]]; then
  for ((i = 0; i < parts_per_pass; i++)); do parts+=(""); done
  mapfile -t test_files < <(find tests -name 'test_*.py' -not -path '*/.axe/*' | sort)
  for i in "${!test_files[@]}"; do parts[i % parts_per_pass]+=" ${test_files[i]}"; done
fi
declare -A status=()
if [[ -n "${SURVEY_TEST_SEQUENTIAL:-}" ]]; then
  echo "==> test suite on SQLite"
  status[sqlite]=0; run_pass sqlite "" "$@" || status[sqlite]=$?
  echo "==> test suite on PostgreSQL"
  status[postgresql]=0; run_pass postgresql "$PG_URL" "$@" || status[postgresql]=$?
else
  declare -A pids=() logs=()
  background() {  # background NAME URL ARGS...: its output goes to a log, printed later
    local name="$1"
    logs[$name]="$(mktemp "${TEST_TMP:-/tmp}/$name.XXXXXX.log")"
    run_pass "$@" >"${logs[$name]}" 2>&1 &
    pids[$name]=$!
  }
  if ((${#parts[@]} > 0)); then
    echo "==> test suite on SQLite and PostgreSQL, each in $parts_per_pass parts side by side" \
      "(the first SQLite part prints as it goes, the others follow)"
    order=()
    for ((i = 1; i < ${#parts[@]}; i++)); do
      background "sqlite-$((i + 1))" "" ${parts[i]}
      order+=("sqlite-$((i + 1))")
    done
    for ((i = 0; i < ${#parts[@]}; i++)); do
      background "postgresql-$((i + 1))" "$PG_URL" ${parts[i]}
      order+=("postgresql-$((i + 1))")
    done
    echo "==> test suite on SQLite, part 1"
    status[sqlite-1]=0; run_pass sqlite-1 "" ${parts[0]} || status[sqlite-1]=$?
  else
    echo "==> test suite on PostgreSQL, started alongside (its output follows the SQLite pass)"
    background postgresql "$PG_URL" "$@"
    echo "==> test suite on SQLite"
    status[sqlite]=0; run_pass sqlite "" "$@" || status[sqlite]=$?
    order=(postgresql)
  fi
  for name in "${order[@]}"; do
    status[$name]=0; wait "${pids[$name]}" || status[$name]=$?
    echo "==> test suite: ${name/-/, part }"
    cat "${logs[$name]}"
  done
fi
summary=()
failed=0
for name in $(printf '%s\n' "${!status[@]}" | sort); do
  if ((status[$name] == 0)); then summary+=("$name passed"); else
    summary+=("$name FAILED (${status[$name]})"); failed=1; fi
done
echo "==> $(IFS=,; echo "${summary[*]}" | sed 's/,/, /g')"
((failed == 0))
