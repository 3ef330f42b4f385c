#!/usr/bin/env bash
# Install axe-core (the accessibility checker the browser tests inject into pages) into
# tests/browser/.axe/, which git ignores. Nothing is loaded from the internet at test time.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
if [[ -f "$here/.axe/node_modules/axe-core/axe.min.js" ]]; then
  exit 0
fi
npm install --prefix "$here/.axe" --no-audit --no-fund --loglevel=error axe-core@4
