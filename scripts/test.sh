#!/usr/bin/env bash
# Install everything the tests need and run the whole suite twice: on embedded SQLite,
# then on a throwaway PostgreSQL server started on loopback and stopped afterwards.
# Extra arguments go to pytest (e.g. scripts/test.sh -k units).
#
# scripts/test.sh --fast: the quick loop while editing: lint, then the statistics and
# the service tests (no browser, no reliability drills, no demo-database pages) on
# SQLite only; it assumes the set-up was done once (by this script without --fast).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$ROOT"

if [[ "${1:-}" == "--fast" ]]; then
  shift
  "$VENV/bin/ruff" check .
  "$VENV/bin/ruff" format --check .
  exec "$VENV/bin/pytest" -q -m "not browser and not slow and not demo" --durations=10 \
    tests/analysis tests/indices tests/weighting tests/test_*.py "$@"
fi

ensure_debian_packages chromium postgresql fonts-noto-core
ensure_debian_packages espeak-ng  # read-aloud audio (services/audio.py)
ensure_debian_packages libpango-1.0-0 libpangoft2-1.0-0  # WeasyPrint (scorecard PDFs)
ensure_debian_packages nginx openssl  # tests/reliability/test_nginx.py (docs/nginx/survey.conf)
command -v npm >/dev/null 2>&1 || ensure_debian_packages npm
ensure_venv requirements-dev.txt
compile_translations
bash tests/browser/fetch_axe.sh  # axe-core for the accessibility checks, served locally

echo "==> lint"
"$VENV/bin/ruff" check .
"$VENV/bin/ruff" format --check .

echo "==> test suite on SQLite"
"$VENV/bin/pytest" --durations=15 "$@"

echo "==> test suite on PostgreSQL"
source "$ROOT/scripts/pg.sh"
pg_start
trap pg_stop EXIT
TEST_DATABASE_URL="$PG_URL" "$VENV/bin/pytest" --durations=15 "$@"
