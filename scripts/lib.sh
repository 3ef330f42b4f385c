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

# Create the virtual environment and install a requirements file, once per change of it.
ensure_venv() {
    local requirements="$1"
    if ! python3 -m venv --help >/dev/null 2>&1; then
        ensure_debian_packages python3-venv
    fi
    if [ ! -x "$PY" ]; then
        echo "==> creating virtual environment in .venv"
        python3 -m venv "$VENV"
        "$PY" -m pip install -q --upgrade pip
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

# Compile the message catalogues (.po -> .mo); the .mo files are build products.
compile_translations() {
    "$VENV/bin/pybabel" compile -q -d "$ROOT/survey_app/translations" 2>/dev/null \
        || "$VENV/bin/pybabel" compile -d "$ROOT/survey_app/translations"
}
