"""The ``flask`` commands, run with the CLI test runner against a real database."""

from __future__ import annotations

import re
import unicodedata
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskCliRunner
from sqlalchemy import func, select

from survey_app.collection.desks import desk_for_token, hash_token
from survey_app.extensions import db
from survey_app.models import (
    Alert,
    AuditLog,
    Channel,
    Desk,
    Questionnaire,
    Response,
    Role,
    Unit,
    User,
    Wave,
)
from tests.helpers.cli_setup import UNITS_CSV, import_units
from tests.helpers.encodings import windows_1258

ROOT = Path(__file__).resolve().parents[1]


def count(model: type) -> int:
    return db.session.scalar(select(func.count()).select_from(model)) or 0


def test_units_import_builds_the_hierarchy(runner: FlaskCliRunner, tmp_path: Path) -> None:
    result = import_units(runner, tmp_path)
    assert result.exit_code == 0, result.output
    assert "đã tạo 4 đơn vị" in result.output  # vi: the default language
    units = {u.code: u for u in db.session.scalars(select(Unit))}
    assert units["C1"].parent.code == "D"
    assert units["C1"].path == f"/{units['P'].id}/{units['D'].id}/{units['C1'].id}/"
    again = import_units(runner, tmp_path)
    assert "đã tạo 0 đơn vị, cập nhật 4 đơn vị" in again.output
    assert count(Unit) == 4


def test_units_import_refuses_a_bad_file_whole(runner: FlaskCliRunner, tmp_path: Path) -> None:
    bad = UNITS_CSV + "C3,,Nameless,commune,D\nC4,Xã Bốn,Four,village,NOPE\n"
    result = import_units(runner, tmp_path, bad)
    assert result.exit_code != 0
    assert "Dòng 6, cột name_vi" in result.output  # vi: the default language
    assert "Dòng 7, cột kind" in result.output
    assert "Dòng 7, cột parent_code" in result.output
    assert count(Unit) == 0


def test_units_import_reads_a_vietnamese_excel_csv(runner: FlaskCliRunner, tmp_path: Path) -> None:
    """Excel with Vietnamese settings saves ";"-delimited Windows-1258 (tone marks as
    combining characters); the command read only UTF-8 and stopped with a traceback."""
    path = tmp_path / "units.csv"
    path.write_bytes(windows_1258(UNITS_CSV.replace(",", ";")))
    result = runner.invoke(args=["units", "import", str(path)])
    assert result.exit_code == 0, result.output
    assert "đã tạo 4 đơn vị" in result.output
    names = {u.name_vi for u in db.session.scalars(select(Unit))}
    expected = {row.split(",")[1] for row in UNITS_CSV.splitlines()[1:]}
    assert names == {unicodedata.normalize("NFC", name) for name in expected}


@pytest.mark.parametrize(
    ("lang", "expected"),
    [
        ("vi", "Lỗi: Tệp không phải văn bản UTF-8"),
        ("en", "Error: The file is not UTF-8 text"),
    ],
)
def test_units_import_refuses_a_file_that_is_not_text(
    runner: FlaskCliRunner, tmp_path: Path, lang: str, expected: str
) -> None:
    path = tmp_path / "units.csv"
    path.write_bytes(b"code,name_vi\n\x81\x90,x\n")  # no text in any encoding read
    result = runner.invoke(args=["units", "import", "--lang", lang, str(path)])
    assert result.exit_code == 1
    assert result.exception is None or isinstance(result.exception, SystemExit)
    assert expected in result.output
    assert count(Unit) == 0


def test_users_create_with_password_from_stdin(runner: FlaskCliRunner, tmp_path: Path) -> None:
    import_units(runner, tmp_path)
    result = runner.invoke(
        args=["users", "create", "lan", "--role", "leader", "--unit", "D", "--password-stdin"],
        input="a-long-password\n",
    )
    assert result.exit_code == 0, result.output
    user = db.session.scalar(select(User).where(User.username == "lan"))
    assert user is not None and user.role is Role.LEADER and user.unit.code == "D"
    assert "a-long-password" not in user.password_hash
    assert user.password_hash.startswith("scrypt:")


def test_users_create_prompts_for_password(runner: FlaskCliRunner) -> None:
    result = runner.invoke(
        args=["users", "create", "minh", "--role", "analyst"],
        input="another-password\nanother-password\n",
    )
    assert result.exit_code == 0, result.output
    assert count(User) == 1


def test_users_create_rejects_bad_input(runner: FlaskCliRunner) -> None:
    short = runner.invoke(
        args=["users", "create", "x", "--role", "admin", "--password-stdin"], input="short\n"
    )
    assert short.exit_code != 0 and "ít nhất 10 ký tự" in short.output
    unit = runner.invoke(
        args=["users", "create", "x", "--role", "admin", "--unit", "ZZ", "--password-stdin"],
        input="long-enough-pw\n",
    )
    assert unit.exit_code != 0 and "không có đơn vị mã 'ZZ'" in unit.output
    role = runner.invoke(args=["users", "create", "x", "--role", "boss"])
    assert role.exit_code != 0
    assert count(User) == 0


def test_desks_create_and_token(runner: FlaskCliRunner, tmp_path: Path) -> None:
    import_units(runner, tmp_path)
    created = runner.invoke(args=["desks", "create", "Q1", "--unit", "C1", "--name", "Quầy 1"])
    assert created.exit_code == 0, created.output
    result = runner.invoke(args=["desks", "token", "Q1"])
    assert result.exit_code == 0, result.output
    token = result.output.strip()
    assert len(token) >= 40
    desk = db.session.scalar(select(Desk).where(Desk.code == "Q1"))
    assert desk is not None and desk.token_hash == hash_token(token)
    assert token not in desk.token_hash
    assert desk_for_token("Q1", token) is not None
    assert desk_for_token("Q1", token + "x") is None
    # A new token replaces the old one.
    newer = runner.invoke(args=["desks", "token", "Q1"]).output.strip()
    assert desk_for_token("Q1", token) is None and desk_for_token("Q1", newer) is not None


def test_desks_errors(runner: FlaskCliRunner, tmp_path: Path) -> None:
    assert runner.invoke(args=["desks", "token", "NOPE"]).exit_code != 0
    missing = runner.invoke(args=["desks", "create", "Q1", "--unit", "NOPE", "--name", "x"])
    assert missing.exit_code != 0 and "không có đơn vị mã 'NOPE'" in missing.output


def test_questionnaires_load_is_idempotent(runner: FlaskCliRunner) -> None:
    first = runner.invoke(args=["questionnaires", "load"])
    assert first.exit_code == 0, first.output
    assert "sipas v1: đã nạp" in first.output
    second = runner.invoke(args=["questionnaires", "load"])
    assert "sipas v1: không thay đổi" in second.output
    assert count(Questionnaire) == 2


def test_questionnaires_load_reports_invalid_file(runner: FlaskCliRunner, tmp_path: Path) -> None:
    (tmp_path / "broken.yaml").write_text("slug: broken\nversion: one\n", encoding="utf-8")
    result = runner.invoke(args=["questionnaires", "load", "--dir", str(tmp_path)])
    assert result.exit_code != 0
    assert "broken.yaml" in result.output
    assert count(Questionnaire) == 0


@pytest.mark.demo
def test_demo_seed_is_idempotent(runner: FlaskCliRunner, tmp_path: Path) -> None:
    """The database starts seeded (the demo template); seeding again changes nothing."""
    counts = {model: count(model) for model in (Unit, Desk, User, Response, Questionnaire)}
    assert counts[Unit] >= 40 and counts[Response] > 5000
    assert counts[User] == 4
    credentials = tmp_path / "creds.txt"
    again = runner.invoke(args=["demo", "seed", "--credentials", str(credentials)])
    assert again.exit_code == 0, again.output
    assert "đã có phiếu trả lời" in again.output
    assert {model: count(model) for model in counts} == counts
    assert not credentials.exists()  # no user was created, so no password was written
    skipped = runner.invoke(args=["demo", "seed", "--if-empty"])
    assert "không nạp dữ liệu mẫu" in skipped.output
    assert count(AuditLog) > 0


@pytest.mark.demo
def test_demo_seed_on_a_later_day_adds_no_second_month_of_kiosk_feedback(
    app: Flask, tmp_path: Path
) -> None:
    """The kiosk feedback wave is named by its first day, so seeding again the next
    day (or after midnight, as CI once did) found no wave of that name and simulated a
    second 30 days over the first: 9,022 responses became 10,554."""
    from survey_app.demo import seeding

    before = count(Response), count(Wave)
    later = datetime.now(UTC).date() + timedelta(days=3)
    report = seeding.seed(7, tmp_path / "creds.txt", today=later)
    assert (count(Response), count(Wave)) == before
    kiosk = [line for line in report if line.startswith("đợt KIOSK-")]
    assert len(kiosk) == 2 and all("đã có phiếu trả lời" in line for line in kiosk), report


@pytest.mark.demo
def test_the_run_script_leaves_the_demo_with_its_alerts(runner: FlaskCliRunner) -> None:
    """scripts/run.sh's commands, in its order, on the seeded demo: the alert rules are
    evaluated after the seed, so the leaders' notification centre is not empty until
    someone runs `flask alerts run` by hand."""
    script = (ROOT / "scripts" / "run.sh").read_text(encoding="utf-8")
    commands = re.findall(r'^"\$VENV/bin/flask" (.+)$', script, re.MULTILINE)
    assert commands.index("alerts run") > commands.index("demo seed --if-empty")
    assert count(Alert) == 0
    for command in commands:
        if command == "db upgrade":
            continue  # the test's database is migrated already
        result = runner.invoke(args=command.split())
        assert result.exit_code == 0, (command, result.output)
    assert count(Alert) > 0


@pytest.mark.demo
def test_the_demos_answering_kiosks_are_enrolled_before_their_first_answer(app: Flask) -> None:
    """The desks page said "not enrolled" of every demo desk, also of those whose kiosk
    sent answers every day of the simulated month."""
    first_answer = dict(
        db.session.execute(
            select(Response.desk_id, func.min(Response.submitted_at))
            .where(Response.channel == Channel.KIOSK)
            .group_by(Response.desk_id)
        ).all()
    )
    assert len(first_answer) >= 10
    for desk in db.session.scalars(select(Desk).where(Desk.id.in_(first_answer))):
        assert desk.token_hash is not None, desk.code
        issued = desk.token_issued_at.replace(tzinfo=first_answer[desk.id].tzinfo)
        assert issued < first_answer[desk.id], desk.code


def test_demo_seed_writes_the_demo_passwords(runner: FlaskCliRunner, tmp_path: Path) -> None:
    """On an empty database the seed creates the accounts and writes their passwords."""
    from survey_app import demo
    from survey_app.demo import seeding

    credentials = tmp_path / "creds.txt"
    runner.invoke(args=["questionnaires", "load"])
    seeding._seed_units(demo.HOANG_MAI + demo.quang_ngai_units())
    line = seeding._seed_users(credentials)
    assert "tạo mới 4" in line
    lines = credentials.read_text(encoding="utf-8").splitlines()
    assert {row.split(" / ")[0] for row in lines} == {"admin", "analyst", "leader", "leader_qn"}
    for row in lines:
        username, password = row.split("  ")[0].split(" / ")
        from survey_app.admin import accounts

        assert accounts.authenticate(username, password) is not None
