# Shared helpers for scripts/run.sh and scripts/test.sh (sourced, not run).
# shellcheck shell=bash

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="$ROOT/.venv"
PY="$VENV/bin/python"

as_root() {
    if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}

# Install Debian packages that are missing (safe to re-run; does nothing when present).
ensure_debian_packages() {
    local missing=()
    for pkg in "$@"; do
        dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" \
            || missing+=("$pkg")
    done
    if [ ${#missing[@]} -gt 0 ]; then
        echo "==> installing Debian packages: ${missing[*]}"
        as_root apt-get update -qq
        DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq "${missing[@]}" >/dev/null
    fi
}

# The interpreter the virtual environment is made from: $SURVEY_PYTHON when set; else
# the distribution's /usr/bin/python3 when it is 3.11 or newer (Debian builds it with
# profile-guided and link-time optimisation; an interpreter that pyenv or a plain
# ./configure built has neither: heavy test files took 13-22 % more CPU under it);
# else python3 on PATH.
base_python() {
    if [ -n "${SURVEY_PYTHON:-}" ]; then
        command -v "$SURVEY_PYTHON" || { echo "SURVEY_PYTHON=$SURVEY_PYTHON: not found" >&2; return 1; }
    elif [ -x /usr/bin/python3 ] \
        && /usr/bin/python3 -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
        echo /usr/bin/python3
    else
        command -v python3
    fi
}

# Create the virtual environment and install a requirements file, once per change of it.
# The environment is made again when the base interpreter changes.
ensure_venv() {
    local requirements="$1"
    local base
    base="$(base_python)"
    if ! "$base" -m venv --help >/dev/null 2>&1 || ! "$base" -c 'import ensurepip' 2>/dev/null; then
        ensure_debian_packages python3-venv
    fi
    if [ -x "$PY" ] && [ "$(cat "$VENV/.base-python" 2>/dev/null)" != "$base" ]; then
        echo "==> the virtual environment was made from another interpreter; making it again from $base"
        rm -rf "$VENV"
    fi
    if [ ! -x "$PY" ]; then
        echo "==> creating virtual environment in .venv (from $base)"
        "$base" -m venv "$VENV"
        "$PY" -m pip install -q --upgrade pip
        echo "$base" >"$VENV/.base-python"
    fi
    local stamp="$VENV/.installed-$(basename "$requirements")"
    local digest
    digest="$(cat "$ROOT/requirements.txt" "$ROOT/$requirements" | sha256sum | cut -d' ' -f1)"
    if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$digest" ]; then
        echo "==> installing Python packages from $requirements"
        "$PY" -m pip install -q -r "$ROOT/$requirements"
        echo "$digest" >"$stamp"
    fi
}

# plotly.js's basic bundle for the charts (survey_app/plotly_bundle.py), from the npm
# registry into survey_app/vendor/ (git ignores it); fails when it cannot be fetched.
fetch_plotly() {
    "$VENV/bin/python" "$ROOT/scripts/fetch_plotly.py"
}

# Compile the message catalogues (.po -> .mo); the .mo files are build products.
compile_translations() {
    "$VENV/bin/pybabel" compile -q -d "$ROOT/survey_app/translations" 2>/dev/null \
        || "$VENV/bin/pybabel" compile -d "$ROOT/survey_app/translations"
    # the statistics library's messages (python -m analysis; analysis/i18n.py)
    "$VENV/bin/pybabel" compile -q -D analysis -d "$ROOT/analysis/translations" 2>/dev/null \
        || "$VENV/bin/pybabel" compile -D analysis -d "$ROOT/analysis/translations"
}
