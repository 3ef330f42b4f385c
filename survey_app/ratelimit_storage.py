"""An in-process rate-limit storage that does not start a thread per request.

``limits``' ``memory://`` storage removes expired counters from a ``threading.Timer``
that lives 10 ms and is started again on the next hit when it has ended, so a server
answering more than about 100 requests a second starts a thread for almost every
request (measured: 15 % of a gunicorn worker's time under the submission load test,
``benchmarks/load_submit.py``). This storage is the same in every other respect and
registers as ``survey-memory://``, the default ``RATELIMIT_STORAGE_URI``. Its counters
expire lazily (``limits`` reads a key's expiry before counting it) and a sweep of all
expired keys runs in the request's own thread at most once per
:data:`SWEEP_INTERVAL_S`, so memory stays bounded.

Like ``memory://`` it counts per process: with several workers or servers, point
``RATELIMIT_STORAGE_URI`` at Redis or memcached (docs/operations.md).
"""

from __future__ import annotations

import threading
import time
from typing import ClassVar

from limits.storage import MemoryStorage

SWEEP_INTERVAL_S = 1.0


class SweepingMemoryStorage(MemoryStorage):
    """``memory://`` with an inline sweep instead of a timer thread."""

    STORAGE_SCHEME: ClassVar[list[str]] = ["survey-memory"]

    def __init__(self, uri: str | None = None, wrap_exceptions: bool = False, **options: str):
        super().__init__(uri, wrap_exceptions=wrap_exceptions, **options)
        self._next_sweep = 0.0
        self._sweep_lock = threading.Lock()

    def _MemoryStorage__schedule_expiry(self) -> None:  # noqa: N802 - overrides the private hook
        now = time.monotonic()
        if now < self._next_sweep or not self._sweep_lock.acquire(blocking=False):
            return
        try:
            self._next_sweep = now + SWEEP_INTERVAL_S
            self._MemoryStorage__expire_events()  # type: ignore[attr-defined]
        finally:
            self._sweep_lock.release()
