"""The Alembic history upgrades, downgrades and matches the models, on both databases."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask import Flask
from flask_migrate import downgrade, upgrade
from sqlalchemy import inspect

from survey_app import partitions
from survey_app.extensions import db

EXPECTED_TABLES = {
    "units", "desks", "procedure_fields", "procedures", "questionnaires",
    "questionnaire_items", "waves", "responses", "answer_values", "weighting_schemes",
    "response_weights", "users", "audit_log", "alembic_version", "feedback_series",
    "wave_frame", "app_settings", "rate_limits",
    "alerts", "alert_preferences", "alert_subscriptions", "alert_receipts", "digest_log",
    "small_area_settings", "figure_sums", "figure_cells", "figure_counts", "figure_queue",
    "figure_stat_lists",
}  # fmt: skip


#: PostgreSQL also has the partitions of responses and answer_values (migration 0007),
#: left out of table_names(), and the table of globally unique keys.
POSTGRESQL_TABLES = {"response_keys", "response_inbox"}


def table_names() -> set[str]:
    names = set(inspect(db.engine).get_table_names())
    return {name for name in names if not partitions.PARTITION_NAME.match(name)}


def expected_tables() -> set[str]:
    return EXPECTED_TABLES | (
        POSTGRESQL_TABLES if db.engine.dialect.name == "postgresql" else set()
    )


def test_models_match_migrations(app: Flask) -> None:
    with db.engine.connect() as connection:
        include = partitions.include_object(connection.dialect.name)
        context = MigrationContext.configure(
            connection, opts={"compare_type": True, "include_object": include}
        )
        differences = compare_metadata(context, db.metadata)
    assert differences == []


def test_downgrade_to_base_and_upgrade_again(app: Flask) -> None:
    assert table_names() == expected_tables()
    downgrade(revision="base")
    for engine in db.engines.values():  # the submissions engine too
        engine.dispose()
    assert table_names() <= {"alembic_version"}
    upgrade()
    for engine in db.engines.values():  # the submissions engine too
        engine.dispose()
    assert table_names() == expected_tables()
