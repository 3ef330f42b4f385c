"""Rate-limit storages: ``survey-sql://`` (the default) and ``survey-memory://``.

``survey-sql://`` keeps the counters in the application's own database (the
``rate_limits`` table, :class:`survey_app.models.system.RateLimitCounter`), so every
worker process and every app server counts the same attempts: with 4 gunicorn workers
a limit of 10 is 10, not up to 40. Each hit is one atomic upsert (``INSERT ... ON
CONFLICT DO UPDATE ... RETURNING``, on SQLite and PostgreSQL alike) on its own
connection, committed at once and independent of the request's transaction; on
PostgreSQL it runs on the autocommit submissions engine (one round trip). Expired
rows are deleted by the request's own thread at most once per
:data:`SQL_SWEEP_INTERVAL_S` per process. It supports the fixed-window strategy (the
app's), not the moving-window one. ``redis://`` and ``memcached://`` still work when
``RATELIMIT_STORAGE_URI`` names them.

An in-process rate-limit storage that does not start a thread per request.

``limits``' ``memory://`` storage removes expired counters from a ``threading.Timer``
that lives 10 ms and is started again on the next hit when it has ended, so a server
answering more than about 100 requests a second starts a thread for almost every
request (measured: 15 % of a gunicorn worker's time under the submission load test,
``benchmarks/load_submit.py``). This storage is the same in every other respect and
registers as ``survey-memory://`` (the default before ``survey-sql://``). Its counters
expire lazily (``limits`` reads a key's expiry before counting it) and a sweep of all
expired keys runs in the request's own thread at most once per
:data:`SWEEP_INTERVAL_S`, so memory stays bounded.

Like ``memory://`` it counts per process: with several workers or servers, use
``survey-sql://``, Redis or memcached (docs/operations.md).
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, ClassVar

from limits.storage import MemoryStorage, Storage
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine
    from sqlalchemy.sql.elements import TextClause

SWEEP_INTERVAL_S = 1.0
#: Seconds between two deletions of expired counters by one process (``survey-sql://``).
SQL_SWEEP_INTERVAL_S = 60.0
#: Longest key stored as it is (the column's length); longer ones are stored as a digest.
MAX_KEY_LENGTH = 255


#: The two private methods of ``limits``' MemoryStorage this storage relies on: the
#: timer's scheduling (replaced) and the sweep itself (called). ``limits`` offers no
#: public hook for this; :func:`check_memory_hooks` fails loudly at import if a new
#: version renames them, instead of the override silently never running.
PRIVATE_HOOKS = ("_MemoryStorage__schedule_expiry", "_MemoryStorage__expire_events")


def check_memory_hooks(base: type = MemoryStorage) -> None:
    """Raise ``RuntimeError`` unless ``base`` has the private methods we override."""
    missing = [name for name in PRIVATE_HOOKS if not callable(getattr(base, name, None))]
    if missing:
        import limits

        raise RuntimeError(
            f"limits {limits.__version__}: MemoryStorage no longer has {', '.join(missing)}; "
            "survey_app/ratelimit_storage.py must be updated for this version "
            "(or pin limits to a version it supports in requirements.txt)"
        )


check_memory_hooks()


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


# One statement: a new key starts at ``amount``; a key whose window has ended starts
# again; otherwise the count grows. SET expressions see the row's old values.
_INCREMENT = text(
    """
    INSERT INTO rate_limits ("key", count, expires_at) VALUES (:key, :amount, :expires_at)
    ON CONFLICT ("key") DO UPDATE SET
        count = CASE WHEN rate_limits.expires_at <= :now THEN excluded.count
                     ELSE rate_limits.count + excluded.count END,
        expires_at = CASE WHEN rate_limits.expires_at <= :now THEN excluded.expires_at
                          ELSE rate_limits.expires_at END
    RETURNING count
    """
)
_GET = text('SELECT count, expires_at FROM rate_limits WHERE "key" = :key AND expires_at > :now')
_CLEAR = text('DELETE FROM rate_limits WHERE "key" = :key')
_SWEEP = text("DELETE FROM rate_limits WHERE expires_at <= :now")
_RESET = text("DELETE FROM rate_limits")


class DatabaseStorage(Storage):
    """Fixed-window counters in the ``rate_limits`` table of the current app's database.

    The storage holds no connection of its own: each call uses the engine of the app
    handling the request (on PostgreSQL its autocommit ``submissions`` engine), so it
    needs an application context, which every request has.
    """

    STORAGE_SCHEME: ClassVar[list[str]] = ["survey-sql"]

    def __init__(self, uri: str | None = None, wrap_exceptions: bool = False, **options: str):
        super().__init__(uri, wrap_exceptions=wrap_exceptions, **options)
        self._next_sweep = 0.0
        self._sweep_lock = threading.Lock()
        #: The clock the windows are measured with (seconds since the epoch); the tests
        #: move it forward instead of waiting for a window to pass.
        self.clock: Callable[[], float] = time.time

    @property
    def base_exceptions(self) -> type[Exception]:
        return SQLAlchemyError

    @staticmethod
    def _engine() -> Engine:
        from survey_app.extensions import SUBMISSIONS_BIND, db

        engines = db.engines
        return engines.get(SUBMISSIONS_BIND) or engines[None]

    @staticmethod
    def storage_key(key: str) -> str:
        """The key as stored: as it is, or a digest when longer than the column."""
        if len(key) <= MAX_KEY_LENGTH:
            return key
        return "sha256:" + hashlib.sha256(key.encode("utf-8", "replace")).hexdigest()

    def _run(self, statement: TextClause, **params: object) -> tuple[list[tuple], int]:
        """Run one statement on its own connection and commit; (rows, row count)."""
        with self._engine().connect() as connection:
            result = connection.execute(statement, params)
            rows = [tuple(row) for row in result] if result.returns_rows else []
            count = result.rowcount
            connection.commit()
        return rows, count

    def incr(self, key: str, expiry: int, amount: int = 1) -> int:
        now = self.clock()
        self.sweep(now)
        rows, _ = self._run(
            _INCREMENT, key=self.storage_key(key), amount=amount, expires_at=now + expiry, now=now
        )
        return int(rows[0][0])

    def get(self, key: str) -> int:
        rows, _ = self._run(_GET, key=self.storage_key(key), now=self.clock())
        return int(rows[0][0]) if rows else 0

    def get_expiry(self, key: str) -> float:
        now = self.clock()
        rows, _ = self._run(_GET, key=self.storage_key(key), now=now)
        return float(rows[0][1]) if rows else now

    def check(self) -> bool:
        try:
            self._run(text("SELECT 1"))
        except SQLAlchemyError:
            return False
        return True

    def reset(self) -> int | None:
        return self._run(_RESET)[1]

    def clear(self, key: str) -> None:
        self._run(_CLEAR, key=self.storage_key(key))

    def sweep(self, now: float) -> None:
        """Delete expired counters, at most once per SQL_SWEEP_INTERVAL_S per process."""
        if now < self._next_sweep or not self._sweep_lock.acquire(blocking=False):
            return
        try:
            self._next_sweep = now + SQL_SWEEP_INTERVAL_S
            self._run(_SWEEP, now=now)
        finally:
            self._sweep_lock.release()
