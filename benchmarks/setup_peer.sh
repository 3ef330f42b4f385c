#!/bin/sh
# Install the `svy` peer package (Python API over a Rust core) in its own virtual
# environment, benchmarks/.venv-peer (git-ignored). It is a benchmark peer only and is
# never a dependency of the platform.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
python3 -m venv "$here/.venv-peer"
"$here/.venv-peer/bin/pip" install --quiet --upgrade pip
"$here/.venv-peer/bin/pip" install --quiet svy numpy pandas polars
"$here/.venv-peer/bin/python" -c "import svy; print('svy', getattr(svy, '__version__', '?'))"
