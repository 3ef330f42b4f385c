"""The single insert statement compiled once and run as a prepared statement.

:func:`run_insert` runs :func:`.sql.insert_statement` on the raw psycopg connection:
compiled once per process with PostgreSQL's own ``$n`` placeholders, executed by a
``psycopg.RawCursor`` as a prepared statement, so neither SQLAlchemy's execution nor
psycopg's client-side rewriting of the statement runs per response (psycopg caches that
rewriting only for statements under 4 kB, and this one is about that long). There is
one statement per wave (its burst check names the wave's partition); psycopg keeps up
to 100 prepared statements per connection, and a deployment has one open
continuous-feedback wave per questionnaire and month. With ``SUBMISSION_INBOX`` it runs
:func:`.sql.inbox_statement` instead, one for every wave.

Each pooled connection keeps one cursor for the statement, in the pool's ``info`` of
that connection (kept while the connection lives, cleared when it is replaced). A new
cursor per call chose psycopg's adapters for every parameter afresh: about 0.05 ms of
a request's CPU, measured in the app (benchmarks/README.md, "Stop 38").
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import cached_property, lru_cache
from typing import Any

import psycopg
from sqlalchemy import Select, literal_column
from sqlalchemy.engine import Dialect, Engine
from sqlalchemy.sql.elements import BindParameter
from sqlalchemy.sql.visitors import replacement_traverse

from survey_app.collection.submissions.sql import inbox_statement, insert_statement


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


def inline_constants(statement: Select[Any], dialect: Dialect) -> Select[Any]:
    """``statement`` with its constants written into the SQL as literals.

    A constant is a bound parameter given its value where the statement was built
    (``literal(1)``, ``LIMIT 1``, an enum member, ``'burst'``), not one of the
    parameters each call passes. As parameters, psycopg adapted and sent them at every
    call and PostgreSQL bound them: ten of the statement's 39. The type's literal
    processor writes each one (strings quoted as the dialect quotes them); a constant
    whose type has none stays a parameter.
    """

    def literal_for(element: Any, **_kw: Any) -> Any:
        if not isinstance(element, BindParameter) or element.required or element.value is None:
            return None
        render = element.type.literal_processor(dialect)
        return None if render is None else literal_column(render(element.value), element.type)

    return replacement_traverse(statement, {}, literal_for)


@lru_cache(maxsize=256)
def _raw_insert(
    dialect_class: type, counted: bool, wave_id: int | None, inbox: bool
) -> RawStatement:
    dialect = dialect_class(paramstyle="numeric_dollar")
    built = inbox_statement(counted) if inbox else insert_statement(counted, wave_id)
    statement = inline_constants(built, dialect)
    compiled = statement.compile(dialect=dialect)
    return RawStatement(
        sql=str(compiled),
        names=tuple(compiled.positiontup or ()),
        constants=dict(compiled.params),
        processors=dict(compiled._bind_processors),
    )


#: The key of a connection's cursor for the statement in the pool's ``info``.
CURSOR = "survey.insert_cursor"


def run_insert(
    engine: Engine, params: Mapping[str, Any], *, counted: bool, inbox: bool = False
) -> InsertResult:
    """Run :func:`insert_statement` on a connection of ``engine`` (the autocommit
    submissions engine), the one of the wave ``params["wave_id"]``, or with ``inbox``
    :func:`inbox_statement` (one for every wave); its one row (see
    :func:`insert_statement`)."""
    # the inbox's statement is the same for every wave: compiled once, not per wave
    raw = _raw_insert(type(engine.dialect), counted, None if inbox else params["wave_id"], inbox)
    arguments = raw.arguments(params)
    # The pool's connection itself, without SQLAlchemy's Connection around it (nothing
    # here uses it); close() gives it back to the pool.
    pooled = engine.raw_connection()
    try:
        cursor = pooled.info.get(CURSOR)
        if cursor is None:
            cursor = pooled.info[CURSOR] = psycopg.RawCursor(pooled.driver_connection)
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
    deferred: bool | None
    stored_content_hash: str | None
    stored_wave_id: int | None
    stored_dossier_hash: str | None
