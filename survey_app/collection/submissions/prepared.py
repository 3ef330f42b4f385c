"""The single insert statement compiled once and run as a prepared statement.

:func:`run_insert` runs :func:`.sql.insert_statement` on the raw psycopg connection:
compiled once per process with PostgreSQL's own ``$n`` placeholders, executed by a
``psycopg.RawCursor`` as a prepared statement, so neither SQLAlchemy's execution nor
psycopg's client-side rewriting of the statement runs per response (psycopg caches that
rewriting only for statements under 4 kB, and this one is about that long). There is
one statement per wave (its burst check names the wave's partition); psycopg keeps up
to 100 prepared statements per connection, and a deployment has one open
continuous-feedback wave per questionnaire and month.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import cached_property, lru_cache
from typing import Any

import psycopg
from sqlalchemy.engine import Engine

from survey_app.collection.submissions.sql import insert_statement


@dataclass(frozen=True)
class RawStatement:
    """A statement compiled for the driver: SQL with ``$n`` placeholders, the parameter
    names in their order, the values of its constant parameters, and SQLAlchemy's bind
    processors (JSONB, enums, arrays) for the parameters that have one."""

    sql: str
    names: tuple[str, ...]
    constants: Mapping[str, Any]
    processors: Mapping[str, Callable[[Any], Any]]

    @cached_property
    def _plan(self) -> tuple[tuple[str, Callable[[Any], Any] | None], ...]:
        return tuple((name, self.processors.get(name)) for name in self.names)

    def arguments(self, params: Mapping[str, Any]) -> list[Any]:
        values = []
        constants = self.constants
        for name, process in self._plan:
            value = params[name] if name in params else constants[name]
            values.append(value if process is None else process(value))
        return values


@lru_cache(maxsize=256)
def _raw_insert(dialect_class: type, counted: bool, wave_id: int | None) -> RawStatement:
    statement = insert_statement(counted, wave_id)
    compiled = statement.compile(dialect=dialect_class(paramstyle="numeric_dollar"))
    return RawStatement(
        sql=str(compiled),
        names=tuple(compiled.positiontup or ()),
        constants=dict(compiled.params),
        processors=dict(compiled._bind_processors),
    )


def run_insert(engine: Engine, params: Mapping[str, Any], *, counted: bool) -> InsertResult:
    """Run :func:`insert_statement` on a connection of ``engine`` (the autocommit
    submissions engine), the one of the wave ``params["wave_id"]``; its one row (see
    :func:`insert_statement`)."""
    raw = _raw_insert(type(engine.dialect), counted, params["wave_id"])
    arguments = raw.arguments(params)
    # The pool's connection itself, without SQLAlchemy's Connection around it (nothing
    # here uses it); close() gives it back to the pool.
    pooled = engine.raw_connection()
    try:
        with psycopg.RawCursor(pooled.driver_connection) as cursor:
            cursor.execute(raw.sql, arguments, prepare=True)
            row = cursor.fetchone()
    except psycopg.OperationalError:
        pooled.invalidate()  # a broken connection does not go back to the pool
        raise
    finally:
        pooled.close()
    if row is None:
        raise RuntimeError("the insert statement returned no row")
    return InsertResult(*row)


@dataclass(frozen=True)
class InsertResult:
    id: int | None
    context_holds: bool
    hits: int | None
    stored_content_hash: str | None
    stored_wave_id: int | None
    stored_dossier_hash: str | None
