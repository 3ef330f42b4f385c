"""gunicorn's settings, read from the working directory (gunicorn's default config file):
``scripts/run.sh``, docs/operations.md and the benchmarks start gunicorn from the
project's folder.

Only a hook: each worker, once it has made the app, moves every object it holds then
(the imports, the app, the questionnaires) out of the garbage collector's view with
``gc.freeze()``. A full collection otherwise walks those 250,000 objects: measured on a
leader's overview at 1,000,000 responses, each took 100-210 ms and landed in a request
(the p95); with them frozen, 13-28 ms. They live as long as the worker anyway.
"""

from __future__ import annotations

import gc
from typing import Any


def post_worker_init(worker: Any) -> None:
    gc.freeze()
