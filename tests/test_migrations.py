"""The Alembic history upgrades, downgrades and matches the models, on both databases."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask import Flask
from flask_migrate import downgrade, upgrade
from sqlalchemy import inspect

from survey_app.extensions import db

EXPECTED_TABLES = {
    "units", "desks", "procedure_fields", "procedures", "questionnaires",
    "questionnaire_items", "waves", "responses", "answer_values", "weighting_schemes",
    "response_weights", "users", "audit_log", "alembic_version", "feedback_series",
    "wave_frame", "app_settings", "rate_limits",
    "alerts", "alert_preferences", "alert_subscriptions", "alert_receipts", "digest_log",
    "small_area_settings", "figure_sums",
}  # fmt: skip


def table_names() -> set[str]:
    return set(inspect(db.engine).get_table_names())


def test_models_match_migrations(app: Flask) -> None:
    with db.engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        differences = compare_metadata(context, db.metadata)
    assert differences == []


def test_downgrade_to_base_and_upgrade_again(app: Flask) -> None:
    assert table_names() == EXPECTED_TABLES
    downgrade(revision="base")
    for engine in db.engines.values():  # the submissions engine too
        engine.dispose()
    assert table_names() <= {"alembic_version"}
    upgrade()
    for engine in db.engines.values():  # the submissions engine too
        engine.dispose()
    assert table_names() == EXPECTED_TABLES
