#!/usr/bin/env bash
# Install everything the tests need and run the whole suite twice: on embedded SQLite,
# then on a throwaway PostgreSQL server started on loopback and stopped afterwards.
# Extra arguments go to pytest (e.g. scripts/test.sh -k units).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$ROOT"

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
"$VENV/bin/pytest" "$@"

echo "==> test suite on PostgreSQL"
source "$ROOT/scripts/pg.sh"
pg_start
trap pg_stop EXIT
TEST_DATABASE_URL="$PG_URL" "$VENV/bin/pytest" "$@"
