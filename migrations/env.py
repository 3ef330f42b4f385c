"""Alembic environment for Flask-Migrate: the app's engine and metadata, batch mode on SQLite.

A downgrade that would drop tables or columns holding data is refused before any step
runs (:func:`refuse_losing_data`), unless forced with ``-x force=yes``.
"""

from __future__ import annotations

import logging
from logging.config import fileConfig
from typing import Any

from alembic import context
from alembic.util import CommandError
from flask import current_app
from sqlalchemy import Connection, inspect, text

from survey_app import partitions

config = context.config
if config.config_file_name is not None and not logging.getLogger().handlers:
    fileConfig(config.config_file_name, disable_existing_loggers=False)
logger = logging.getLogger("alembic.env")

database = current_app.extensions["migrate"].db
config.set_main_option(
    "sqlalchemy.url",
    database.engine.url.render_as_string(hide_password=False).replace("%", "%%"),
)
target_metadata = database.metadata


def run_migrations_offline() -> None:
    """Emit SQL to the script output instead of running it."""
    context.configure(
        url=config.get_main_option("sqlalchemy.url"),
        target_metadata=target_metadata,
        literal_binds=True,
        render_as_batch=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def _quote(connection: Connection, name: str) -> str:
    return connection.dialect.identifier_preparer.quote(name)


def _losses(connection: Connection, drops: dict[str, Any], existing: set[str]) -> list[str]:
    """What one downgrade's ``DOWNGRADE_DROPS`` would destroy: "table x: n rows", ..."""
    found = []
    for table in drops.get("tables", ()):
        if table not in existing:
            continue
        count = connection.execute(text(f"SELECT count(*) FROM {_quote(connection, table)}"))
        rows = int(count.scalar_one())
        if rows:
            found.append(f"table {table}: {rows:,} row(s)")
    for table, column, condition in drops.get("columns", ()):
        if table not in existing:
            continue
        query = f"SELECT count(*) FROM {_quote(connection, table)} WHERE {condition}"
        rows = int(connection.execute(text(query)).scalar_one())
        if rows:
            found.append(f"column {table}.{column}: {rows:,} row(s) with a value")
    return found


def refuse_losing_data(connection: Connection) -> None:
    """Refuse a downgrade whose steps would drop tables or columns that hold data.

    Each migration module names what its ``downgrade()`` drops in ``DOWNGRADE_DROPS``
    (``"tables"``, and ``"columns"`` as (table, column, SQL condition for "holds a
    value")). Every step is checked before any runs, so a refused downgrade changes
    nothing (SQLite cannot roll DDL back here). ``-x force=yes`` skips the check.
    """
    force = context.get_x_argument(as_dictionary=True).get("force", "")
    if force.strip().lower() in {"yes", "true", "1"}:
        return
    migration_context = context.get_context()
    # The steps the command is about to run (alembic's own plan for this command).
    plan = migration_context._migrations_fn
    if plan is None:
        return
    steps = [
        step
        for step in plan(migration_context.get_current_heads(), migration_context)
        if not step.is_upgrade
    ]
    if not steps:
        return
    existing = set(inspect(connection).get_table_names())
    losses = []
    for step in steps:
        drops = getattr(step.revision.module, "DOWNGRADE_DROPS", {})
        losses += [
            f"{step.revision.revision}: {loss}" for loss in _losses(connection, drops, existing)
        ]
    if losses:
        raise CommandError(
            "Refusing to downgrade: it would drop data ("
            + "; ".join(losses)
            + "). Nothing was changed. Back up the database first (docs/operations.md), "
            "then run `flask --app survey_app db downgrade -x force=yes` to drop it anyway."
        )


def run_migrations_online() -> None:
    """Run the migrations on the app's engine."""

    def skip_empty(ctx: object, revision: object, directives: list) -> None:
        autogenerate = getattr(config.cmd_opts, "autogenerate", False)
        if autogenerate and directives[0].upgrade_ops.is_empty():
            directives[:] = []
            logger.info("No changes in schema detected.")

    conf_args = dict(current_app.extensions["migrate"].configure_args)
    conf_args.setdefault("process_revision_directives", skip_empty)
    with database.engine.connect() as connection:
        # autogenerate leaves the PostgreSQL partitioning (migration 0007) alone
        conf_args.setdefault("include_object", partitions.include_object(connection.dialect.name))
        context.configure(connection=connection, target_metadata=target_metadata, **conf_args)
        with context.begin_transaction():
            refuse_losing_data(connection)
            context.run_migrations()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
