"""Survey rounds: waves created by the survey team, feedback periods, and a fresh install.

The last test is the walk a new province makes with no demo: units, desks and accounts
from the command line, a field wave with its sample frame, kiosk and phone answers, a
paper import, then published figures, a scorecard and an export. Every figure below
comes from the rows the test itself sends.
"""

from __future__ import annotations

import csv
import io
import re
import uuid
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from flask import Flask
from flask.testing import FlaskClient, FlaskCliRunner
from sqlalchemy import func, select

from survey_app.admin import accounts, units
from survey_app.collection import questionnaires
from survey_app.collection.paper_import.importing import import_file
from survey_app.collection.waves.design import panel_pair
from survey_app.collection.waves.feedback_periods import period_bounds
from survey_app.collection.waves.field_waves import create_field_wave
from survey_app.extensions import db
from survey_app.models import (
    AuditLog,
    FeedbackPeriod,
    FeedbackSeries,
    LonelyPSU,
    Response,
    Role,
    Unit,
    User,
    Wave,
    WaveFrameUnit,
    WaveKind,
    WaveStatus,
)

PASSWORD = "correct-horse-battery"
UNITS_CSV = """code,name_vi,name_en,kind,parent_code
NA,Tỉnh Nghệ An,Nghe An province,province,
HM,Thị xã Hoàng Mai,Hoang Mai town,district,NA
HM-QL,Phường Quỳnh Lộc,Quynh Loc ward,commune,HM
HM-QT,Xã Quỳnh Trang,Quynh Trang commune,commune,HM
VI,Thành phố Vinh,Vinh city,district,NA
"""
FRAME_CSV = """stratum;psu;unit_code;stratum_psus
HM-QL;QL-T1;HM-QL;12
HM-QL;QL-T2;HM-QL;12
HM-QT;QT-T1;HM-QT;9
HM-QT;QT-T2;HM-QT;9
"""


def text_of(response: Any) -> str:
    return response.get_data(as_text=True)


@pytest.fixture(autouse=True)
def english_command_line(monkeypatch: pytest.MonkeyPatch) -> None:
    """The commands here are read as scripts read them: in English (SURVEY_LANG=en).
    Their Vietnamese default is tested in tests/test_cli_language.py."""
    monkeypatch.setenv("SURVEY_LANG", "en")


def invoke(runner: FlaskCliRunner, *args: str, stdin: str | None = None) -> str:
    result = runner.invoke(args=list(args), input=stdin)
    assert result.exit_code == 0, result.output
    return result.output


def login(client: FlaskClient, username: str) -> None:
    response = client.post("/auth/login", data={"username": username, "password": PASSWORD})
    assert response.status_code == 302, text_of(response)


@pytest.fixture
def area(app: Flask) -> None:
    questionnaires.load_folder(Path(app.config["QUESTIONNAIRE_DIR"]))
    units.import_units(units.read_units_csv(UNITS_CSV))
    accounts.create_user("analyst", PASSWORD, "analyst", None)
    accounts.create_user("analyst_vi", PASSWORD, "analyst", "VI")
    accounts.create_user("leader", PASSWORD, "leader", "HM")
    db.session.commit()


# --- the command line ---------------------------------------------------------------


def test_waves_create_list_close_from_the_command_line(
    runner: FlaskCliRunner, area: None, tmp_path: Path
) -> None:
    frame = tmp_path / "frame.csv"
    frame.write_text(FRAME_CSV + "HM-QT;QT-T3;HM-QT;9\nVI-X;VI-T1;;\n", encoding="utf-8")
    out = invoke(
        runner, "waves", "create", "HM-2025", "--questionnaire", "sipas", "--unit", "NA",
        "--start", "2025-05-01", "--end", "2025-05-31", "--name-vi", "Khảo sát SIPAS 2025",
        "--lonely-psu", "average", "--frame", str(frame),
    )  # fmt: skip
    assert "wave HM-2025 created" in out and "lonely PSU rule average" in out
    assert "frame of 6 PSUs in 3 strata" in out
    assert "warning: Stratum VI-X has a single PSU" in out
    wave = db.session.scalar(select(Wave).where(Wave.code == "HM-2025"))
    assert wave.kind == WaveKind.FIELD_SURVEY and wave.status == WaveStatus.OPEN
    assert wave.lonely_psu == LonelyPSU.AVERAGE and wave.panel_of_id is None
    assert wave.name_en == "Khảo sát SIPAS 2025"  # no English name given: the Vietnamese one
    assert sorted((r.stratum, r.psu, r.stratum_psus) for r in wave.frame)[0] == (
        "HM-QL",
        "QL-T1",
        12,
    )

    out = invoke(
        runner, "waves", "create", "HM-2025-12", "--questionnaire", "sipas:1", "--unit", "HM",
        "--start", "2025-12-01", "--end", "2025-12-20", "--name-vi", "Đợt 2",
        "--name-en", "Round 2", "--panel-of", "HM-2025",
    )  # fmt: skip
    assert "panel of HM-2025" in out
    second = db.session.scalar(select(Wave).where(Wave.code == "HM-2025-12"))
    assert second.panel_of_id == wave.id and second.lonely_psu == LonelyPSU.ADJUST
    assert panel_pair(wave, second) and panel_pair(second, wave)

    listing = invoke(runner, "waves", "list")
    lines = {line.split("\t")[0]: line.split("\t") for line in listing.splitlines()}
    assert lines["HM-2025"][1:4] == ["field_survey", "open", "2025-05-01"]
    assert "panel_of=HM-2025" in lines["HM-2025-12"][6]

    assert invoke(runner, "waves", "close", "HM-2025") == "wave HM-2025 closed\n"
    db.session.expire_all()
    assert db.session.get(Wave, wave.id).status == WaveStatus.CLOSED
    again = runner.invoke(args=["waves", "close", "HM-2025"])
    assert again.exit_code == 1 and "already closed" in again.output
    actions = db.session.scalars(
        select(AuditLog.action).where(AuditLog.action.startswith("wave.")).order_by(AuditLog.id)
    ).all()
    assert actions == ["wave.create", "wave.create", "wave.close"]


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--unit", "NOPE"], "No unit with code NOPE"),
        (["--questionnaire", "nope"], "No questionnaire nope is loaded"),
        (["--questionnaire", "sipas:99"], "No questionnaire sipas:99 is loaded"),
        (["--end", "2025-04-01"], "The end date is before the start date"),
        (["--panel-of", "NOPE"], "No field survey wave NOPE"),
        (["--code", "bad code!"], "The code must be 1 to 32"),
    ],
)
def test_waves_create_refuses_with_every_reason(
    runner: FlaskCliRunner, area: None, extra: list[str], message: str
) -> None:
    options = {
        "--questionnaire": "sipas", "--unit": "HM", "--start": "2025-05-01",
        "--end": "2025-05-31", "--name-vi": "Đợt",
    }  # fmt: skip
    code = "W1"
    for flag, value in zip(extra[::2], extra[1::2], strict=True):
        if flag == "--code":
            code = value
        else:
            options[flag] = value
    args = ["waves", "create", code] + [part for pair in options.items() for part in pair]
    result = runner.invoke(args=args)
    assert result.exit_code == 1 and "no wave was created" in result.output
    assert message in result.output
    assert db.session.scalar(select(func.count()).select_from(Wave)) == 0


@pytest.mark.parametrize(
    ("frame", "message"),
    [
        ("stratum,unit_code\nA,HM-QL\n", "Row 1, column psu: column is missing"),
        ("stratum,psu\nA,\n", "Row 2, column psu: is empty"),
        ("stratum,psu\nA,P1\nA,P1\n", "Row 3, column psu: this PSU is listed twice"),
        ("stratum,psu\nA\x00,P1\n", "Cell A2: The cell holds a control character (U+0000)"),
        ("stratum,psu\n" + "A" * 65 + ",P1\n", "Row 2, column stratum: must be 1 to 64 characters"),
        ("stratum,psu,stratum_psus\nA,P1,²\n", "Row 2, column stratum_psus: must be a whole"),
        ("stratum,psu,stratum_psus\nA,P1,1\nA,P2,1\n", "1 PSUs in the population but 2"),
        ("stratum,psu,stratum_psus\nA,P1,3\nA,P2,4\n", "differs from an earlier row"),
        ("stratum,psu\n", "The sample frame lists no PSU"),
        ("stratum,psu,unit_code\nA,P1,VI\n", "unit VI is not inside the wave's unit"),
    ],
)
def test_a_bad_sample_frame_is_refused_by_row_and_column(
    runner: FlaskCliRunner, area: None, tmp_path: Path, frame: str, message: str
) -> None:
    path = tmp_path / "frame.csv"
    path.write_text(frame, encoding="utf-8")
    result = runner.invoke(
        args=[
            "waves", "create", "W1", "--questionnaire", "sipas", "--unit", "HM",
            "--start", "2025-05-01", "--end", "2025-05-31", "--name-vi", "Đợt",
            "--frame", str(path),
        ]
    )  # fmt: skip
    assert result.exit_code == 1 and message in result.output, result.output
    assert db.session.scalar(select(func.count()).select_from(Wave)) == 0


def test_feedback_periods_from_the_command_line(runner: FlaskCliRunner, area: None) -> None:
    out = invoke(
        runner, "waves", "periods", "HM", "--questionnaire", "kiosk_quick", "--period", "quarter"
    )
    assert out == "feedback of HM (kiosk_quick) is grouped by quarter\n"
    series = db.session.scalar(select(FeedbackSeries))
    assert series.period == "quarter" and series.unit.code == "HM"
    bad = runner.invoke(
        args=["waves", "periods", "HM", "--questionnaire", "nope", "--period", "month"]
    )
    assert bad.exit_code == 1 and "No questionnaire nope" in bad.output
    assert period_bounds(FeedbackPeriod.QUARTER, date(2024, 2, 29)) == (
        date(2024, 1, 1),
        date(2024, 3, 31),
        "2024Q1",
    )
    assert period_bounds(FeedbackPeriod.MONTH, date(2024, 2, 10))[1] == date(2024, 2, 29)


# --- the pages ------------------------------------------------------------------------


def test_the_survey_team_creates_and_closes_a_wave_on_the_pages(
    client: FlaskClient, area: None
) -> None:
    login(client, "analyst")
    page = client.get("/analyst/waves/")
    assert page.status_code == 200 and "Đợt khảo sát" in text_of(page)
    assert "Chưa có đợt nào" in text_of(page)
    form = {
        "code": "HM-2025", "name_vi": "Khảo sát 2025", "name_en": "Survey 2025",
        "questionnaire": f"sipas:{questionnaires.latest('sipas').version}", "unit": "HM",
        "start": "2025-05-01", "end": "2025-05-31", "lonely_psu": "remove", "panel_of": "",
        "frame": (io.BytesIO(FRAME_CSV.encode()), "frame.csv"),
    }  # fmt: skip
    created = client.post("/analyst/waves/", data=form, content_type="multipart/form-data")
    assert created.status_code == 302 and created.headers["Location"].endswith("/HM-2025")
    detail = client.get("/analyst/waves/HM-2025")
    html = text_of(detail)
    assert "Khảo sát 2025" in html and "QT-T2" in html and "remove" in html
    wave = db.session.scalar(select(Wave).where(Wave.code == "HM-2025"))
    assert wave.lonely_psu == LonelyPSU.REMOVE and len(wave.frame) == 4

    # Every problem at once, in Vietnamese, and nothing stored.
    again = dict(
        form, code="HM-2026", frame=(io.BytesIO(b"stratum,psu\nA,\n"), "frame.csv"), unit="NOPE"
    )
    refused = client.post("/analyst/waves/", data=again, content_type="multipart/form-data")
    assert refused.status_code == 422
    # Every problem at once: the frame's row and the unknown unit, in one list.
    assert "Chưa lưu gì: có 2 lỗi." in text_of(refused)
    assert "Không có đơn vị mã NOPE trong phạm vi của bạn." in text_of(refused)
    assert "Dòng 2, cột psu: bị trống" in text_of(refused)
    assert db.session.scalar(select(func.count()).select_from(Wave)) == 1

    english = client.get("/analyst/waves/HM-2025?lang=en")
    assert "Close the wave" in text_of(english)
    closed = client.post("/analyst/waves/HM-2025/close")
    assert closed.status_code == 302
    db.session.expire_all()
    assert db.session.get(Wave, wave.id).status == WaveStatus.CLOSED

    # A paper form for a closed wave is refused with its reason.
    header = "client_id,unit_code,wave_code,stratum,psu,design_weight,submitted_date,field\n"
    report = import_file(
        "late.csv",
        (header + "labels,,,,,,,\n,HM-QL,HM-2025,HM-QL,QL-T1,,05/05/2025,dat_dai\n").encode(),
        db.session.scalar(select(User).where(User.username == "analyst")),
        "en",
    )
    assert not report.ok and any("đã đóng" in issue.message for issue in report.issues)


def test_wave_pages_are_for_survey_teams_within_their_scope(
    client: FlaskClient, area: None
) -> None:
    create_field_wave(
        code="HM-2025", name_vi="Đợt", name_en="Round", questionnaire="sipas",
        unit_code="HM", start=date(2025, 5, 1), end=date(2025, 5, 31),
    )  # fmt: skip
    login(client, "leader")
    assert client.get("/analyst/waves/").status_code == 403
    client.post("/auth/logout")
    login(client, "analyst_vi")
    listing = text_of(client.get("/analyst/waves/?lang=en"))
    assert "HM-2025" not in listing
    assert client.get("/analyst/waves/HM-2025").status_code == 404
    assert client.post("/analyst/waves/HM-2025/close").status_code == 404
    outside = client.post(
        "/analyst/waves/",
        data={"code": "X1", "name_vi": "X", "questionnaire": "sipas:1", "unit": "HM",
              "start": "2025-05-01", "end": "2025-05-02", "lonely_psu": "adjust"},
    )  # fmt: skip
    assert outside.status_code == 422 and "HM" in text_of(outside)


# --- a fresh install, no demo -----------------------------------------------------------


def sipas_rows(n: int, rng: np.random.Generator) -> tuple[list[str], list[list[str]]]:
    """Paper rows of the SIPAS questionnaire: every required item answered at random."""
    definition = questionnaires.parsed(questionnaires.latest("sipas"))
    # Every respondent says they gave feedback, so the feedback aspect (shown only
    # then) has answers and the overall index, the mean of the five aspects, exists.
    items = [item for item in definition.items if item.required and item.show_if is None]
    items += [i for i in definition.items if i.code == "gave_feedback" and i not in items]
    header = ["client_id", "unit_code", "wave_code", "stratum", "psu", "design_weight",
              "submitted_date"] + [item.code for item in items]  # fmt: skip
    frame = [(s, f"{s[3:]}-T{k}") for s in ("HM-QL", "HM-QT") for k in range(1, 9)]
    rows = []
    for i in range(n):
        stratum, psu = frame[i % len(frame)]
        answers = []
        for item in items:
            if item.code == "gave_feedback":
                answers.append("yes")
            elif item.type == "likert5":
                answers.append(str(int(rng.choice([2, 3, 4, 4, 5, 5]))))
            elif item.options:
                answers.append(item.options[int(rng.integers(len(item.options)))].code)
            else:
                answers.append(str(int(item.min_value or 1)))
        day = f"{5 + i % 20:02d}/05/2025"
        rows.append([str(uuid.uuid4()), stratum, "HM-2025", stratum, psu, "25", day, *answers])
    return header, rows


def test_a_fresh_install_reaches_published_figures(
    app: Flask, client: FlaskClient, runner: FlaskCliRunner, tmp_path: Path
) -> None:
    """From an empty database to figures, a scorecard and an export, as a new province."""
    assert db.session.scalar(select(func.count()).select_from(Unit)) == 0
    invoke(runner, "questionnaires", "load")
    (tmp_path / "units.csv").write_text(UNITS_CSV, encoding="utf-8")
    assert "5 units created" in invoke(runner, "units", "import", str(tmp_path / "units.csv"))
    invoke(runner, "desks", "create", "QL-01", "--unit", "HM-QL", "--name", "Quầy Quỳnh Lộc")
    token = invoke(runner, "desks", "token", "QL-01").strip()
    for name, role, unit in (("analyst", "analyst", "NA"), ("leader", "leader", "HM")):
        invoke(runner, "users", "create", name, "--role", role, "--unit", unit,
               "--password-stdin", stdin=PASSWORD + "\n")  # fmt: skip
    big_frame = "stratum,psu,unit_code\n" + "".join(
        f"{s},{s[3:]}-T{k},{s}\n" for s in ("HM-QL", "HM-QT") for k in range(1, 9)
    )
    (tmp_path / "frame.csv").write_text(big_frame, encoding="utf-8")
    invoke(
        runner, "waves", "create", "HM-2025", "--questionnaire", "sipas", "--unit", "HM",
        "--start", "2025-05-01", "--end", "2025-05-31", "--name-vi", "Khảo sát SIPAS 5/2025",
        "--name-en", "SIPAS survey May 2025", "--frame", str(tmp_path / "frame.csv"),
    )  # fmt: skip

    # Kiosk and phone answers: each opens or joins the month's feedback period.
    rng = np.random.default_rng(20251201)
    kiosk = questionnaires.latest("kiosk_quick")
    for i in range(40):
        payload = {
            "id": str(uuid.uuid4()), "desk": "QL-01",
            "questionnaire": {"slug": "kiosk_quick", "version": kiosk.version},
            "answers": {"mood": int(rng.integers(2, 6))},
            "channel": "kiosk" if i % 4 else "phone", "lang": "vi",
            "submitted_at": f"2025-05-{1 + i % 28:02d}T{8 + i % 9:02d}:15:00+07:00",
        }  # fmt: skip
        headers = {"Authorization": f"Bearer {token}"} if payload["channel"] == "kiosk" else {}
        response = client.post("/api/v1/responses", json=payload, headers=headers)
        assert response.status_code == 201, text_of(response)
    # A citizen answers on their phone through the desk's QR form, today.
    phone = app.test_client()
    response = phone.get("/s/QL-01")
    for _page in range(5):
        html = text_of(response)
        step = re.search(r'name="step" value="([^"]+)"', html)
        if step is None:
            break
        data: dict[str, Any] = {"step": step.group(1), "action": "next"}
        resume = re.search(r'name="resume" value="([^"]+)"', html)
        if resume is not None:
            data["resume"] = resume.group(1)
        if 'name="mood"' in html:
            data["mood"] = "4"
        response = phone.post("/s/QL-01", data=data)
        if response.status_code == 302:
            response = phone.get(response.headers["Location"])
    assert "/thanks" in response.request.path, text_of(response)
    assert db.session.scalar(select(func.count()).where(Response.channel == "phone")) == 11
    assert db.session.scalar(select(func.count()).where(Response.wave_id.is_(None))) == 0
    today = db.session.scalar(select(Response).order_by(Response.id.desc()).limit(1)).wave
    assert (
        today.start_date <= date.today() + timedelta(days=1) and today.kind == "continuous_feedback"
    )
    periods = db.session.scalars(
        select(Wave).where(Wave.kind == WaveKind.CONTINUOUS_FEEDBACK, Wave.id != today.id)
    )
    (period,) = periods.all()
    assert (period.start_date, period.end_date, period.unit.code) == (
        date(2025, 5, 1),
        date(2025, 5, 31),
        "NA",
    )

    # Paper questionnaires of the field wave, through the analyst's import page.
    login(client, "analyst")
    header, rows = sipas_rows(192, rng)
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(header)
    writer.writerow(["labels"] + [""] * (len(header) - 1))
    writer.writerows(rows)
    imported = client.post(
        "/analyst/data/import",
        data={"file": (io.BytesIO(buffer.getvalue().encode()), "forms.csv")},
        content_type="multipart/form-data",
    )
    assert imported.status_code == 302, text_of(imported)
    assert db.session.scalar(select(func.count()).select_from(Response)) == 41 + 192
    client.post("/auth/logout")

    # The leader sees published figures, a scorecard and the feedback figure.
    login(client, "leader")
    figures = client.get("/api/v1/indices?unit=HM&wave=HM-2025&index=overall&kind=rate")
    assert figures.status_code == 200, text_of(figures)
    (figure,) = figures.get_json()["figures"]
    assert figure["n"] == 192 and figure["inference"] == "design-based"
    assert figure["df"] == 16 - 2 and figure["reportable"] is True
    assert 0 < figure["ci_low"] < figure["value"] < figure["ci_high"] < 1
    overview = client.get("/dashboard/?unit=HM&wave=HM-2025")
    assert overview.status_code == 200 and "HM-2025" in text_of(overview)
    card = client.get("/scorecard/HM/HM-2025")
    assert card.status_code == 200 and "Thị xã Hoàng Mai" in text_of(card)
    feedback = client.get(f"/api/v1/indices?unit=HM&wave={period.code}")
    assert feedback.status_code == 200, text_of(feedback)
    assert {f["inference"] for f in feedback.get_json()["figures"]} == {"model-based"}
    client.post("/auth/logout")

    # The survey team exports the wave's microdata with its design columns.
    login(client, "analyst")
    export = client.get("/analyst/data/export/HM-2025.csv")
    assert export.status_code == 200
    table = list(csv.DictReader(io.StringIO(export.get_data(as_text=True).lstrip("\ufeff"))))
    assert len(table) == 192 and len({row["psu"] for row in table}) == 16
    assert db.session.scalar(select(func.count()).select_from(WaveFrameUnit)) == 16


# --- the declared design reaches the figures -----------------------------------------------


def import_rows(wave_code: str, rows: list[list[str]], header: list[str], user: User) -> None:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(header)
    writer.writerow(["labels"] + [""] * (len(header) - 1))
    for row in rows:
        writer.writerow(
            [
                str(uuid.uuid4()),
                row[1],
                wave_code,
                *row[3:6],
                row[6].replace("/05/", f"/{wave_code[-2:]}/"),
                *row[7:],
            ]
        )
    report = import_file(f"{wave_code}.csv", buffer.getvalue().encode(), user, "vi")
    assert report.ok, report.issues[:3]


def test_the_wave_page_counts_psus_as_the_estimators_do(client: FlaskClient, area: None) -> None:
    """A response recorded without a PSU is a PSU of its own, as the estimators take it
    (the wave page once said "0 PSUs" for a survey of 3,050 such responses), and a
    feedback period has a stratum per desk and a PSU per desk and day."""
    from survey_app.collection.waves.lookups import list_waves

    create_field_wave(
        code="HM-25-05", name_vi="Đợt 1", name_en="Round 1", questionnaire="sipas",
        unit_code="HM", start=date(2025, 5, 1), end=date(2025, 5, 31),
    )  # fmt: skip
    analyst = db.session.scalar(select(User).where(User.username == "analyst"))
    header, rows = sipas_rows(40, np.random.default_rng(3))
    for i, row in enumerate(rows):
        if i % 4 == 0:
            row[4] = ""  # 10 responses without a PSU
    import_rows("HM-25-05", rows, header, analyst)
    responses = db.session.scalars(select(Response).join(Wave).where(Wave.code == "HM-25-05"))
    psus = {(r.stratum, r.psu if r.psu is not None else f"own {r.id}") for r in responses}
    assert len(psus) == 10 + 12  # 30 with a PSU, 12 of the 16 labels among them
    kiosk = questionnaires.latest("kiosk_quick")
    token = desk_token("QL-01", "HM-QL")
    for i in range(9):  # three days at one desk
        payload = {
            "id": str(uuid.uuid4()), "desk": "QL-01",
            "questionnaire": {"slug": "kiosk_quick", "version": kiosk.version},
            "answers": {"mood": 4}, "channel": "kiosk", "lang": "vi",
            "submitted_at": f"2025-05-{1 + i % 3:02d}T09:{i:02d}:00+07:00",
        }  # fmt: skip
        sent = client.post("/api/v1/responses", json=payload, headers={"Authorization": token})
        assert sent.status_code == 201, sent.get_json()
    counts = {row.wave.kind: (row.responses, row.strata, row.psus) for row in list_waves()}
    assert counts == {WaveKind.FIELD_SURVEY: (40, 2, 22), WaveKind.CONTINUOUS_FEEDBACK: (9, 1, 3)}
    login(client, "analyst")
    page = text_of(client.get("/analyst/waves/HM-25-05?lang=en"))
    assert "40 (2 strata, 22 PSUs)" in page


def desk_token(code: str, unit: str) -> str:
    """A new desk's device token, as the Authorization header of its kiosk."""
    from survey_app.collection import desks

    desks.create_desk(code, unit, code)
    return f"Bearer {desks.issue_token(code)}"


@pytest.mark.parametrize("panel", [False, True])
def test_a_change_uses_the_declared_design_not_repeated_labels(area: None, panel: bool) -> None:
    """Two waves with the same PSU labels: independent unless declared a panel."""
    from survey_app.reporting.comparisons import changes, trends

    first = create_field_wave(
        code="HM-25-05", name_vi="Đợt 1", name_en="Round 1", questionnaire="sipas",
        unit_code="HM", start=date(2025, 5, 1), end=date(2025, 5, 31),
    )  # fmt: skip
    second = create_field_wave(
        code="HM-25-06", name_vi="Đợt 2", name_en="Round 2", questionnaire="sipas",
        unit_code="HM", start=date(2025, 6, 1), end=date(2025, 6, 30),
        panel_of="HM-25-05" if panel else None,
    )  # fmt: skip
    analyst = db.session.scalar(select(User).where(User.username == "analyst"))
    rng = np.random.default_rng(7)
    header, rows = sipas_rows(96, rng)
    import_rows("HM-25-05", rows, header, analyst)
    header, rows = sipas_rows(96, rng)
    import_rows("HM-25-06", rows, header, analyst)
    hm = db.session.scalar(select(Unit).where(Unit.code == "HM"))

    result = changes.change(hm, first, second)
    assert result.shared_psus is panel
    var_a, var_b = result.before.se**2, result.after.se**2
    independent_se = float(np.sqrt(var_a + var_b))
    if panel:
        # The joint design: the same PSUs in both waves give a non-zero covariance.
        assert abs(result.difference.se - independent_se) > 1e-9
    else:
        assert result.difference.se == pytest.approx(independent_se, rel=1e-12)

    # A trend over three waves uses the joint design only when each follows the last.
    third = create_field_wave(
        code="HM-25-07", name_vi="Đợt 3", name_en="Round 3", questionnaire="sipas",
        unit_code="HM", start=date(2025, 7, 1), end=date(2025, 7, 31),
        panel_of="HM-25-06" if panel else None,
    )  # fmt: skip
    header, rows = sipas_rows(96, rng)
    import_rows("HM-25-07", rows, header, analyst)
    declared = trends.trend(hm, [first, second, third])
    for wave in (second, third):
        wave.panel_of_id = None
    db.session.commit()
    independent = trends.trend(hm, [first, second, third])
    assert declared.slope == pytest.approx(independent.slope, rel=1e-12)
    assert (abs(declared.se - independent.se) > 1e-9) is panel


def test_a_new_desk_with_one_day_of_answers_keeps_the_units_figures(
    client: FlaskClient, runner: FlaskCliRunner, area: None
) -> None:
    """A desk whose answers all fall on one day is a stratum with one PSU: the feedback
    period's declared rule (``adjust`` by default) gives its variance; nothing fails."""
    kiosk = questionnaires.latest("kiosk_quick")
    tokens = {}
    for code, unit in (("QL-01", "HM-QL"), ("QT-01", "HM-QT")):
        invoke(runner, "desks", "create", code, "--unit", unit, "--name", code)
        tokens[code] = invoke(runner, "desks", "token", code).strip()
    for i in range(60):
        desk = "QL-01" if i < 50 else "QT-01"  # QT-01: ten answers, all on 20 May
        day = 1 + i % 25 if desk == "QL-01" else 20
        payload = {
            "id": str(uuid.uuid4()), "desk": desk,
            "questionnaire": {"slug": "kiosk_quick", "version": kiosk.version},
            "answers": {"mood": 2 + i % 4}, "channel": "kiosk", "lang": "vi",
            "submitted_at": f"2025-05-{day:02d}T09:{i % 60:02d}:00+07:00",
        }  # fmt: skip
        headers = {"Authorization": f"Bearer {tokens[desk]}"}
        sent = client.post("/api/v1/responses", json=payload, headers=headers)
        assert sent.status_code == 201, sent.get_json()
    period = db.session.scalar(select(Wave).where(Wave.kind == WaveKind.CONTINUOUS_FEEDBACK))
    assert period.lonely_psu == LonelyPSU.ADJUST
    login(client, "analyst")  # an analyst sees figures the reporting rule hides from leaders
    answer = client.get(f"/api/v1/indices?unit=HM&unit=HM-QT&wave={period.code}&kind=rate")
    assert answer.status_code == 200, text_of(answer)
    figures = {(f["unit"], f["index"]): f for f in answer.get_json()["figures"]}
    assert figures[("HM-QT", "overall")]["n"] == 10
    assert figures[("HM", "overall")]["n"] == 60 and figures[("HM", "overall")]["se"] > 0


@pytest.mark.demo
def test_the_wave_page_writes_its_counts_the_readers_way(client: FlaskClient) -> None:
    """Quảng Ngãi's 2022 survey has 3,050 responses, each its own PSU: the page read
    "3.050 (31 tầng, 3050 PSU)", the PSUs without the thousands separator."""
    from tests.helpers.accounts import login as log_in

    log_in(client, "qn_team", Role.ANALYST, "QNG")
    vietnamese = text_of(client.get("/analyst/waves/QN-2022"))
    assert "3.050 (31 tầng, 3.050 PSU)" in vietnamese
    english = text_of(client.get("/analyst/waves/QN-2022?lang=en"))
    assert "3,050 (31 strata, 3,050 PSUs)" in english
