"""A downgrade refuses to drop tables or columns that hold data unless forced.

``flask db downgrade`` on 0001 once dropped every table (245,700 rows → 0). Now
migrations/env.py checks every step's ``DOWNGRADE_DROPS`` before running any, so a
refused downgrade changes nothing; ``-x force=yes`` drops the data anyway; an empty
database downgrades as before (tests/test_migrations.py).
"""

from __future__ import annotations

import logging

import pytest
from alembic.script import ScriptDirectory
from flask import Flask, current_app
from flask.testing import FlaskCliRunner
from flask_migrate import downgrade, upgrade
from sqlalchemy import func, inspect, select, text

from survey_app.admin import accounts, units
from survey_app.extensions import db
from survey_app.models import AppSetting, Role, Unit


def head() -> str:
    """The newest revision, from the migration scripts themselves."""
    config = current_app.extensions["migrate"].migrate.get_config()
    return ScriptDirectory.from_config(config).get_current_head()


def table_names() -> set[str]:
    return set(inspect(db.engine).get_table_names())


def version() -> str | None:
    with db.engine.connect() as connection:
        return connection.execute(text("SELECT version_num FROM alembic_version")).scalar()


def dispose() -> None:
    db.session.remove()
    for engine in db.engines.values():  # the submissions engine too
        engine.dispose()


def seed_units() -> None:
    units.import_units(
        [{"code": "NA", "name_vi": "Nghệ An", "name_en": "Nghe An", "kind": "province",
          "parent_code": ""},
         {"code": "HM", "name_vi": "Thị xã Hoàng Mai", "name_en": "Hoang Mai town",
          "kind": "district", "parent_code": "NA"}]
    )  # fmt: skip
    db.session.commit()


def test_downgrade_refuses_to_drop_tables_with_rows(
    app: Flask, caplog: pytest.LogCaptureFixture
) -> None:
    seed_units()
    db.session.add(AppSetting(key="example", value="kept"))
    db.session.commit()
    before = table_names()
    dispose()
    with caplog.at_level(logging.ERROR), pytest.raises(SystemExit) as exit_info:
        downgrade(revision="base")
    assert exit_info.value.code == 1
    assert "Refusing to downgrade" in caplog.text
    assert "0001: table units: 2 row(s)" in caplog.text
    assert "0002: table app_settings: 1 row(s)" in caplog.text
    assert "force=yes" in caplog.text
    dispose()
    assert table_names() == before and version() == head()
    assert db.session.scalar(select(func.count()).select_from(Unit)) == 2


def test_each_step_is_checked_for_its_own_drops(app: Flask) -> None:
    seed_units()  # data in 0001's tables only: reverting the later steps loses nothing
    dispose()
    downgrade(revision="0001")
    dispose()
    assert version() == "0001" and "app_settings" not in table_names()
    with pytest.raises(SystemExit):
        downgrade(revision="-1")  # 0001 would drop the units
    dispose()
    assert version() == "0001" and "units" in table_names()
    upgrade()
    dispose()
    assert version() == head()
    assert db.session.scalar(select(func.count()).select_from(Unit)) == 2


def test_a_column_with_values_is_data_too(app: Flask, caplog: pytest.LogCaptureFixture) -> None:
    seed_units()
    accounts.create_user("an", "correct-horse-battery", Role.ADMIN)
    with db.engine.begin() as connection:
        connection.execute(text("UPDATE users SET session_version = 3"))
    dispose()
    with caplog.at_level(logging.ERROR), pytest.raises(SystemExit):
        downgrade(revision="0001")
    assert "column users.session_version: 1 row(s) with a value" in caplog.text
    dispose()
    assert version() == head()


def test_force_drops_the_data(app: Flask) -> None:
    seed_units()
    dispose()
    downgrade(revision="base", x_arg="force=yes")
    dispose()
    assert table_names() <= {"alembic_version"}
    upgrade()
    dispose()
    assert db.session.scalar(select(func.count()).select_from(Unit)) == 0


def test_the_cli_refuses_and_says_why(app: Flask, runner: FlaskCliRunner) -> None:
    seed_units()
    dispose()
    refused = runner.invoke(args=["db", "downgrade", "base"])
    assert refused.exit_code == 1
    dispose()
    assert version() == head() and "units" in table_names()
    forced = runner.invoke(args=["db", "downgrade", "base", "-x", "force=yes"])
    assert forced.exit_code == 0, forced.output
    dispose()
    assert table_names() <= {"alembic_version"}
    upgrade()
    dispose()
