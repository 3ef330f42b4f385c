#!/usr/bin/env bash
# Install and run the platform on embedded SQLite with the simulated demo province.
# Safe to re-run. Serves on http://127.0.0.1:${PORT:-5000} with gunicorn (debug off).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$ROOT"

ensure_debian_packages libpango-1.0-0 libpangoft2-1.0-0  # WeasyPrint (scorecard PDFs)
ensure_debian_packages espeak-ng  # read-aloud audio for the kiosk and phone (collection/audio.py)
ensure_venv requirements.txt
compile_translations
# Without it the charts load plotly.js's full bundle (4.8 MB instead of 1.2 MB).
fetch_plotly || echo "    (the charts will load the full plotly.js bundle)"

export FLASK_APP=survey_app
"$VENV/bin/flask" db upgrade
"$VENV/bin/flask" questionnaires load
"$VENV/bin/flask" demo seed --if-empty
# What cron does every 15 minutes in production (docs/operations.md): without it the
# demo's notification centre stayed empty until someone ran the command by hand.
"$VENV/bin/flask" alerts run

PORT="${PORT:-5000}"
echo
echo "==> The platform is at http://127.0.0.1:${PORT}/"
echo "    Log in at http://127.0.0.1:${PORT}/auth/login with a demo account:"
if [ -f instance/demo-credentials.txt ]; then sed 's/^/      /' instance/demo-credentials.txt; fi
echo
exec "$VENV/bin/gunicorn" --workers "${WORKERS:-2}" --bind "127.0.0.1:${PORT}" \
    --access-logfile - "survey_app:create_app()"
