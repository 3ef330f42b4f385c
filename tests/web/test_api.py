"""POST /api/v1/responses and the OpenAPI document (test client).

Every status code of the submission contract, every validation rule, idempotency,
whole-or-nothing storage, kiosk token authentication, dossier hashing, burst flags
and rate limits.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from survey_app.collection import desks
from survey_app.collection.submissions import dossiers, entry
from survey_app.collection.waves.feedback_periods import set_feedback_series
from survey_app.extensions import db
from survey_app.models import (
    AnswerValue,
    AuditLog,
    Desk,
    Response,
    Wave,
    WaveKind,
)
from tests.helpers.kiosk_api import API, Setup, add_wave, body, count, fields_of, post, stored


@pytest.fixture
def setup(app: Flask) -> Setup:
    return Setup(app)


# --- storing -------------------------------------------------------------------------


def test_kiosk_response_is_stored_whole(client: FlaskClient, setup: Setup) -> None:
    payload = body(answers={"mood": 2, "problems": ["thai_do", "cho_lau"], "fu_wait": 1})
    response = post(client, payload, setup.token)
    assert response.status_code == 201
    assert response.get_json() == {"id": payload["id"], "status": "created"}
    row = stored(payload["id"])
    assert row.channel == "kiosk" and row.lang == "vi" and row.desk.code == "QL-01"
    assert row.unit.code == "QL" and row.dossier_hash is None
    # No wave was created by hand: the answer opened the monthly feedback period of the
    # top unit (collection/waves/feedback_periods.ensure_feedback_period); never an
    # answer without a period.
    assert row.wave.kind == "continuous_feedback" and row.wave.unit.code == "NA"
    assert (row.wave.start_date, row.wave.end_date) == (date(2025, 3, 1), date(2025, 3, 31))
    assert row.wave.series.period == "month"
    assert not row.flagged and row.flag_reason is None
    # Canonical answers: multiple choices in the questionnaire's option order.
    assert row.answers == {"mood": 2, "problems": ["cho_lau", "thai_do"], "fu_wait": 1}
    submitted = row.submitted_at.replace(tzinfo=row.submitted_at.tzinfo or UTC)
    assert submitted == datetime(2025, 3, 1, 2, 30, tzinfo=UTC)
    values = db.session.scalars(select(AnswerValue.value).where(AnswerValue.response_id == row.id))
    assert sorted(values) == [1, 1, 2, 2]  # mood 2, problems 1 and 2, fu_wait 1


def test_phone_response_is_anonymous(client: FlaskClient, setup: Setup) -> None:
    payload = body(channel="phone", lang="en", started_at=None)
    response = post(client, payload)
    assert response.status_code == 201
    row = stored(payload["id"])
    assert row.channel == "phone" and row.lang == "en" and row.started_at is None


def test_retry_is_200_and_stores_nothing_twice(client: FlaskClient, setup: Setup) -> None:
    payload = body()
    assert post(client, payload, setup.token).status_code == 201
    again = post(client, payload, setup.token)
    assert again.status_code == 200
    assert again.get_json() == {"id": payload["id"], "status": "repeated"}
    # The same instant written in UTC is the same content.
    same = dict(payload, submitted_at="2025-03-01T02:30:00Z", started_at="2025-03-01T02:29:10Z")
    assert post(client, same, setup.token).status_code == 200
    assert count(Response) == 1 and count(AnswerValue) == 2


def test_same_id_with_other_content_is_409(client: FlaskClient, setup: Setup) -> None:
    payload = body()
    assert post(client, payload, setup.token).status_code == 201
    for changed in (
        dict(payload, answers={"mood": 1}),
        dict(payload, submitted_at="2025-03-01T09:31:00+07:00"),
        dict(payload, lang="en"),
        dict(payload, desk="VI-01"),
    ):
        token = setup.other_token if changed["desk"] == "VI-01" else setup.token
        response = post(client, changed, token)
        assert response.status_code == 409
        assert response.get_json()["error"] == "conflict"
        assert "id" in response.get_json()["message"]
    assert count(Response) == 1 and stored(payload["id"]).answers == payload["answers"]


@pytest.mark.parametrize("warm", [False, True], ids=["first-of-desk", "desk-remembered"])
def test_a_failing_answer_row_leaves_no_response(
    app: Flask, client: FlaskClient, setup: Setup, monkeypatch: pytest.MonkeyPatch, warm: bool
) -> None:
    from survey_app.collection.submissions import fields

    # On PostgreSQL the second response of a desk takes the single-statement path.
    if warm:
        assert post(client, body(), setup.token).status_code == 201
    before = (count(Response), count(AnswerValue))
    # An answer row pointing to no questionnaire item: the insert fails mid-transaction.
    # (Encoded once, when the answers are checked; both ways of storing use them.)
    monkeypatch.setattr(fields, "item_rows", lambda codebook, clean: [(987654, 1)])
    app.config["PROPAGATE_EXCEPTIONS"] = False
    response = post(client, body(), setup.token)
    assert response.status_code == 500 and response.is_json
    assert (count(Response), count(AnswerValue)) == before


def test_concurrent_duplicates_store_one_row(app: Flask, setup: Setup) -> None:
    payload = body()
    statuses: list[int] = []
    barrier = threading.Barrier(6)

    def send() -> None:
        plain = FlaskClient(app, app.response_class)
        barrier.wait()
        statuses.append(post(plain, payload, setup.token).status_code)

    threads = [threading.Thread(target=send) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    db.session.rollback()
    assert sorted(statuses) == [200] * 5 + [201]
    assert count(Response) == 1 and count(AnswerValue) == 2


# --- the HTTP body --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b'{"id": ', "The request body is not valid JSON."),
        (b'{"x": NaN}', "The request body is not valid JSON."),
        (b"[" * 100_000 + b"]" * 100_000, "The request body is not valid JSON."),
        (b"[1, 2]", "The request body must be a JSON object."),
        (b'"text"', "The request body must be a JSON object."),
        (b"null", "The request body must be a JSON object."),
        (b'{"desk": "\xff\xfe"}', "The request body is not valid UTF-8."),
    ],
)
def test_bad_bodies_are_400(client: FlaskClient, setup: Setup, data: bytes, message: str) -> None:
    response = client.post(
        API, data=data, content_type="application/json", headers={"Accept-Language": "en"}
    )
    assert response.status_code == 400
    assert response.get_json() == {"error": "bad_request", "message": message}


@pytest.mark.parametrize(
    "content_type", ["text/plain", "application/x-www-form-urlencoded", "multipart/form-data", None]
)
def test_non_json_is_415(client: FlaskClient, setup: Setup, content_type: str | None) -> None:
    kwargs = {"content_type": content_type} if content_type else {}
    response = client.post(API, data=json.dumps(body()), **kwargs)
    assert response.status_code == 415
    assert response.get_json()["error"] == "unsupported_media_type"
    assert "application/json" in response.get_json()["message"]
    assert count(Response) == 0


@pytest.fixture
def small_bodies(app_config: dict[str, Any]) -> None:
    app_config["MAX_CONTENT_LENGTH"] = 4096


def test_body_above_max_content_length_is_413(
    small_bodies: None, client: FlaskClient, setup: Setup
) -> None:
    big = body(answers={"mood": 5, "note": "x" * 5000})
    response = post(client, big, setup.token)
    assert response.status_code == 413
    assert response.is_json and response.get_json()["error"] == "request_entity_too_large"
    assert post(client, body(), setup.token).status_code == 201


def test_get_on_the_collection_is_a_json_405(client: FlaskClient) -> None:
    response = client.get(API)
    assert response.status_code == 405 and response.is_json


def test_csrf_does_not_apply(app: Flask, client: FlaskClient, setup: Setup) -> None:
    app.config["WTF_CSRF_ENABLED"] = True
    assert post(client, body(), setup.token).status_code == 201


# --- authentication --------------------------------------------------------------------


def test_kiosk_needs_its_own_desks_token(client: FlaskClient, setup: Setup) -> None:
    cases: list[tuple[str | None, dict[str, str]]] = [
        (None, {}),
        ("wrong-token", {}),
        (setup.other_token, {}),  # another desk's token
        (None, {"Authorization": f"Basic {setup.token}"}),
    ]
    for token, headers in cases:
        response = post(client, body(), token, headers=headers)
        assert response.status_code == 401, (token, headers)
        assert response.get_json()["error"] == "unauthorized"
        assert "Bearer" in response.get_json()["message"]
    assert count(Response) == 0


def test_reissued_token_revokes_the_old_one(client: FlaskClient, setup: Setup) -> None:
    new_token = desks.issue_token("QL-01")
    assert post(client, body(), setup.token).status_code == 401
    assert post(client, body(), new_token).status_code == 201


def test_inactive_desk_accepts_nothing(client: FlaskClient, setup: Setup) -> None:
    desk = db.session.scalar(select(Desk).where(Desk.code == "QL-01"))
    assert desk is not None
    desk.active = False
    db.session.commit()
    for channel in ("kiosk", "phone"):
        response = post(client, body(channel=channel), setup.token)
        assert fields_of(response) == {("desk", "unknown_desk")}


# --- validation ----------------------------------------------------------------------


def test_every_missing_field_is_named(client: FlaskClient, setup: Setup) -> None:
    assert fields_of(post(client, {})) == {
        ("id", "required"),
        ("desk", "required"),
        ("questionnaire", "required"),
        ("answers", "required"),
        ("channel", "required"),
        ("lang", "required"),
        ("submitted_at", "required"),
    }


def test_every_bad_field_is_named(client: FlaskClient, setup: Setup) -> None:
    payload = {
        "id": "not-a-uuid",
        "desk": 17,
        "questionnaire": {"slug": 3, "extra": True},
        "answers": ["mood", 5],
        "channel": "fax",
        "lang": "fr",
        "started_at": "2025-03-01T09:29:10",
        "submitted_at": "yesterday",
        "dossier": 123,
        "comment": "hello",
    }
    assert fields_of(post(client, payload)) == {
        ("id", "invalid_uuid"),
        ("desk", "wrong_type"),
        ("questionnaire.slug", "wrong_type"),
        ("questionnaire.version", "required"),
        ("questionnaire.extra", "unknown_field"),
        ("answers", "wrong_type"),
        ("channel", "invalid_choice"),
        ("lang", "invalid_choice"),
        ("started_at", "invalid_datetime"),
        ("submitted_at", "invalid_datetime"),
        ("dossier", "wrong_type"),
        ("comment", "unknown_field"),
    }


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({"id": "00000000-0000-0000-0000-000000000000"}, ("id", "invalid_uuid")),
        ({"id": "{3f2b8c4e-1a2b-4c3d-8e9f-0a1b2c3d4e5f}"}, ("id", "invalid_uuid")),
        ({"id": 12}, ("id", "wrong_type")),
        ({"desk": "NO-SUCH"}, ("desk", "unknown_desk")),
        ({"desk": ""}, ("desk", "unknown_desk")),
        ({"desk": "Q\x00"}, ("desk", "invalid_characters")),
        ({"desk": "D" * 5000}, ("desk", "unknown_desk")),
        ({"questionnaire": {"slug": "kiosk_quick", "version": 9}}, ("questionnaire",
                                                                    "unknown_questionnaire")),
        ({"questionnaire": {"slug": "nope", "version": 1}}, ("questionnaire",
                                                             "unknown_questionnaire")),
        ({"questionnaire": {"slug": "kiosk_quick", "version": 2**70}},
         ("questionnaire", "unknown_questionnaire")),
        ({"questionnaire": {"slug": "kiosk_quick", "version": True}},
         ("questionnaire.version", "wrong_type")),
        ({"questionnaire": {"slug": "kiosk_quick", "version": "1"}},
         ("questionnaire.version", "wrong_type")),
        ({"questionnaire": "kiosk_quick"}, ("questionnaire", "wrong_type")),
        ({"channel": "field"}, ("channel", "invalid_choice")),
        ({"channel": ["kiosk"]}, ("channel", "wrong_type")),
        ({"lang": "EN"}, ("lang", "invalid_choice")),
        ({"submitted_at": "2025-03-01"}, ("submitted_at", "invalid_datetime")),
        ({"submitted_at": "2025-03-01T09:30:00"}, ("submitted_at", "invalid_datetime")),
        ({"submitted_at": "9999-12-31T23:59:59-23:59"}, ("submitted_at", "invalid_datetime")),
        ({"submitted_at": 1740796200}, ("submitted_at", "wrong_type")),
        ({"submitted_at": "2999-01-01T00:00:00+07:00"}, ("submitted_at", "in_future")),
        ({"submitted_at": "0001-01-01T00:30:00+00:00"}, ("submitted_at", "too_early")),
        ({"started_at": "1999-12-31T23:59:59+00:00"}, ("started_at", "too_early")),
        ({"started_at": "2025-03-01T09:31:00+07:00"}, ("started_at", "after_submission")),
        ({"dossier": "X" * 65}, ("dossier", "too_long")),
        ({"dossier": "HS\x07001"}, ("dossier", "invalid_characters")),
        ({"answers": {}}, ("answers.mood", "required")),
        ({"answers": {"mood": 6}}, ("answers.mood", "out_of_range")),
        ({"answers": {"mood": "5"}}, ("answers.mood", "wrong_type")),
        ({"answers": {"mood": True}}, ("answers.mood", "wrong_type")),
        ({"answers": {"mood": 5, "colour": "red"}}, ("answers.colour", "unknown_item")),
        ({"answers": {"mood": 5, "positives": ["bay"]}}, ("answers.positives",
                                                          "unknown_option")),
        ({"answers": {"mood": 5, "positives": ["nhanh", "nhanh"]}},
         ("answers.positives", "duplicate_option")),
        ({"answers": {"mood": 5, "problems": ["cho_lau"]}},
         ("answers.problems", "hidden_item_answered")),
        ({"questionnaire": {"slug": "api_test", "version": 1}, "answers": {"visits": 2.5}},
         ("answers.visits", "not_integer")),
        ({"questionnaire": {"slug": "api_test", "version": 1}, "answers": {"visits": 31}},
         ("answers.visits", "out_of_range")),
        ({"questionnaire": {"slug": "api_test", "version": 1}, "answers": {"note": "x" * 11}},
         ("answers.note", "too_long")),
        ({"questionnaire": {"slug": "api_test", "version": 1}, "answers": {"note": "a\x00b"}},
         ("answers.note", "invalid_characters")),
    ],
)  # fmt: skip
def test_each_rule_is_a_422_naming_the_field(
    client: FlaskClient, setup: Setup, changes: dict[str, Any], expected: tuple[str, str]
) -> None:
    response = post(client, body(**changes), setup.token)
    assert fields_of(response) == {expected}
    assert count(Response) == 0


def test_a_number_too_large_for_a_float_is_refused(client: FlaskClient, setup: Setup) -> None:
    text = json.dumps(body(answers={"mood": 5, "fu_wait": 0})).replace(
        '"fu_wait": 0', '"fu_wait": 1e400'
    )
    response = client.post(API, data=text, content_type="application/json",
                           headers={"Authorization": f"Bearer {setup.token}"})  # fmt: skip
    assert fields_of(response) == {("answers.fu_wait", "wrong_type")}


def test_all_answer_errors_are_listed_at_once(client: FlaskClient, setup: Setup) -> None:
    answers = {"mood": 2, "problems": ["bay"], "fu_wait": 0, "fu_staff": "good", "x": 1}
    response = post(client, body(answers=answers, lang="en"), setup.token)
    assert fields_of(response) == {
        ("answers.problems", "unknown_option"),
        ("answers.fu_wait", "out_of_range"),
        ("answers.fu_staff", "wrong_type"),
        ("answers.x", "unknown_item"),
    }
    errors = {e["field"]: e for e in response.get_json()["errors"]}
    assert errors["answers.fu_wait"]["message"] == "The value is out of range."
    assert "1..5" in errors["answers.fu_wait"]["detail"]


def test_blank_answers_are_not_answers(client: FlaskClient, setup: Setup) -> None:
    payload = body(answers={"mood": 4, "positives": [], "fu_wait": None, "problems": None})
    assert post(client, payload, setup.token).status_code == 201
    assert stored(payload["id"]).answers == {"mood": 4}


def test_an_old_offline_response_is_accepted(client: FlaskClient, setup: Setup) -> None:
    old = body(started_at=None, submitted_at="2023-12-31T23:59:00+07:00")
    assert post(client, old, setup.token).status_code == 201


def test_a_clock_slightly_ahead_is_accepted(client: FlaskClient, setup: Setup) -> None:
    ahead = (datetime.now(UTC) + timedelta(hours=2)).isoformat()
    assert post(client, body(started_at=None, submitted_at=ahead), setup.token).status_code == 201


# --- languages -----------------------------------------------------------------------


def test_messages_follow_the_lang_field(client: FlaskClient, setup: Setup) -> None:
    vi = post(client, body(answers={"mood": 9}, lang="vi"), setup.token).get_json()
    en = post(client, body(answers={"mood": 9}, lang="en"), setup.token).get_json()
    assert en["message"] == "The response is not valid; see the errors for each field."
    assert vi["message"] == "Phiếu trả lời chưa hợp lệ; xem lỗi của từng mục."
    assert vi["errors"][0]["message"] == "Giá trị nằm ngoài khoảng cho phép."
    assert en["errors"][0]["message"] == "The value is out of range."


def test_messages_fall_back_to_accept_language(client: FlaskClient, setup: Setup) -> None:
    headers = {"Accept-Language": "en-US,en;q=0.9"}
    english = post(client, body(lang="fr", desk="NOPE"), headers=headers).get_json()
    assert {e["message"] for e in english["errors"]} == {
        "Must be one of: vi, en.",
        "No active desk has this code.",
    }
    vietnamese = post(client, body(lang=None), setup.token, headers={"Accept-Language": "vi-VN"})
    assert vietnamese.get_json()["errors"][0]["message"] == "Trường này là bắt buộc."
    default = post(client, body(lang=None), setup.token).get_json()
    assert default["errors"][0]["message"] == "Trường này là bắt buộc."
    unauthorised = post(client, body(lang="en")).get_json()
    assert unauthorised["message"].startswith("A kiosk submission needs")


# --- waves ---------------------------------------------------------------------------


def wave_of(client: FlaskClient, setup: Setup, submitted_at: str) -> int | None:
    payload = body(started_at=None, submitted_at=submitted_at)
    assert post(client, payload, setup.token).status_code == 201
    return stored(payload["id"]).wave_id


def test_the_wave_is_resolved_by_unit_questionnaire_and_date(
    client: FlaskClient, setup: Setup
) -> None:
    province = add_wave("NA-2025", "NA", date(2025, 1, 1), date(2025, 12, 31))
    april = add_wave("HM-2025-04", "HM", date(2025, 4, 1), date(2025, 4, 30))
    add_wave("VI-2025", "VI", date(2025, 1, 1), date(2025, 12, 31))  # a sibling unit
    add_wave("HM-FIELD", "HM", date(2025, 1, 1), date(2025, 12, 31), kind=WaveKind.FIELD_SURVEY)
    add_wave("HM-SIPAS", "HM", date(2025, 1, 1), date(2025, 12, 31), slug="sipas")
    assert wave_of(client, setup, "2025-03-31T23:30:00+07:00") == province
    # 00:30 in Hà Nội on 1 April is still 31 March in UTC: the local date counts.
    assert wave_of(client, setup, "2025-04-01T00:30:00+07:00") == april
    assert wave_of(client, setup, "2025-03-31T17:30:00Z") == april
    # No wave covers that day: the answer opens December 2024's feedback period of the
    # top unit, created once and shared by later answers of that month.
    december = wave_of(client, setup, "2024-12-31T12:00:00+07:00")
    assert december not in (None, province, april)
    period = db.session.get(Wave, december)
    assert (period.start_date, period.end_date, period.unit.code) == (
        date(2024, 12, 1),
        date(2024, 12, 31),
        "NA",
    )
    assert wave_of(client, setup, "2024-12-02T08:00:00+07:00") == december


def test_feedback_periods_follow_the_nearest_series(client: FlaskClient, setup: Setup) -> None:
    set_feedback_series("HM", "kiosk_quick", "quarter")
    first = wave_of(client, setup, "2025-05-20T10:00:00+07:00")
    period = db.session.get(Wave, first)
    assert (period.start_date, period.end_date, period.unit.code) == (
        date(2025, 4, 1),
        date(2025, 6, 30),
        "HM",
    )
    assert period.name_vi.endswith("quý 2/2025") and period.name_en.endswith("Q2 2025")
    assert wave_of(client, setup, "2025-04-02T10:00:00+07:00") == first
    # The other district has no series of its own: the province's monthly default.
    other = body(desk="VI-01", started_at=None, submitted_at="2025-05-20T10:00:00+07:00")
    assert post(client, other, setup.other_token).status_code == 201
    vinh = stored(other["id"]).wave
    assert (vinh.unit.code, vinh.start_date, vinh.end_date) == (
        "NA",
        date(2025, 5, 1),
        date(2025, 5, 31),
    )
    actions = db.session.scalars(select(AuditLog.action)).all()
    assert actions.count("feedback.series") == 2  # HM set by hand, NA created automatically


# --- dossier codes -------------------------------------------------------------------


def every_stored_value(app: Flask) -> str:
    """Every value of every row of every table, as one string."""
    chunks: list[str] = []
    for table in db.metadata.sorted_tables:
        for row in db.session.execute(select(table)):
            chunks.extend(str(value) for value in row)
    return "\n".join(chunks)


def test_only_a_keyed_hash_of_the_dossier_is_stored(
    app: Flask, client: FlaskClient, setup: Setup
) -> None:
    payload = body(channel="phone", dossier="000.00.23.H41-250301-0007")
    assert post(client, payload).status_code == 201
    row = stored(payload["id"])
    # The key was generated once into the instance folder (no DOSSIER_HASH_KEY here).
    key = (Path(app.instance_path) / "dossier_key").read_text(encoding="ascii").strip()
    expected = hmac.new(key.encode(), b"000.00.23.H41-250301-0007", hashlib.sha256)
    assert row.dossier_hash == expected.hexdigest()
    assert row.dossier_hash != hashlib.sha256(b"000.00.23.H41-250301-0007").hexdigest()
    everything = every_stored_value(app).upper()
    assert "H41-250301-0007" not in everything and "250301" not in everything


def test_dossier_hash_key_setting_is_used(app: Flask) -> None:
    app.config["DOSSIER_HASH_KEY"] = "province-key"
    with app.test_request_context():
        keyed = dossiers.hash_dossier("HS-1")
        app.config["SECRET_KEY"] = "rotated"  # the dossier key is not derived from it
        assert dossiers.hash_dossier("HS-1") == keyed
    assert keyed == hmac.new(b"province-key", b"HS-1", hashlib.sha256).hexdigest()


def test_a_second_response_for_a_dossier_is_refused(client: FlaskClient, setup: Setup) -> None:
    first = body(channel="phone", dossier="HS-2025-000123")
    assert post(client, first).status_code == 201
    for variant in ("HS-2025-000123", " hs-2025-000123 ", "HS-2025- 000123"):
        again = post(client, body(channel="phone", dossier=variant, lang="en"))
        assert again.status_code == 409
        assert again.get_json()["error"] == "duplicate_dossier"
        assert "dossier" in again.get_json()["message"]
    vietnamese = post(client, body(channel="phone", dossier="HS-2025-000123")).get_json()
    assert "hồ sơ" in vietnamese["message"]
    assert post(client, first).status_code == 200  # the first one's retry is still fine
    assert post(client, body(channel="phone", dossier="HS-2025-000124")).status_code == 201
    assert post(client, body(channel="phone", dossier="")).status_code == 201  # no dossier
    assert count(Response) == 3


# --- bursts --------------------------------------------------------------------------


def at(minute: int, second: int = 0) -> str:
    return f"2025-03-01T09:{minute:02d}:{second:02d}+07:00"


def test_a_burst_of_identical_answers_is_flagged(client: FlaskClient, setup: Setup) -> None:
    answers = {"mood": 5, "positives": ["nhanh"]}
    ids = []
    for second in (0, 10, 20, 30, 40, 50):
        payload = body(answers=answers, started_at=None, submitted_at=at(10, second))
        assert post(client, payload, setup.token).status_code == 201
        ids.append(payload["id"])
    flags = [(stored(i).flagged, stored(i).flag_reason) for i in ids]
    assert flags == [(False, None)] * 4 + [(True, "burst")] * 2


def test_varied_or_spread_out_answers_are_not_a_burst(client: FlaskClient, setup: Setup) -> None:
    ids = []
    for i, mood in enumerate((5, 5, 4, 5, 5, 3, 5)):  # five 5s, but not within 2 minutes
        when = at(10 + i // 2, 30 * (i % 2))
        payload = body(answers={"mood": mood}, started_at=None, submitted_at=when)
        ids.append(post(client, payload, setup.token).get_json()["id"])
    for minute in (20, 30, 40, 50):  # one identical set every ten minutes
        payload = body(answers={"mood": 1}, started_at=None, submitted_at=at(minute))
        ids.append(post(client, payload, setup.token).get_json()["id"])
    assert not any(stored(i).flagged for i in ids)


def test_bursts_out_of_order_and_across_desks(client: FlaskClient, setup: Setup) -> None:
    # An offline queue sends late; the burst is judged on submitted_at, not arrival.
    for second in (50, 40, 30, 20):
        payload = body(answers={"mood": 4}, started_at=None, submitted_at=at(5, second))
        post(client, payload, setup.token)
    other = body(desk="VI-01", answers={"mood": 4}, started_at=None, submitted_at=at(5, 45))
    assert post(client, other, setup.other_token).status_code == 201
    assert not stored(other["id"]).flagged  # another desk's answers do not count
    last = body(answers={"mood": 4}, started_at=None, submitted_at=at(5, 0))
    assert post(client, last, setup.token).status_code == 201
    assert stored(last["id"]).flag_reason == "burst"


def test_burst_settings_are_configurable(app: Flask, client: FlaskClient, setup: Setup) -> None:
    app.config.update(BURST_COUNT=2, BURST_WINDOW_S=10)
    first = body(answers={"mood": 1}, started_at=None, submitted_at=at(1, 0))
    late = body(answers={"mood": 1}, started_at=None, submitted_at=at(1, 30))
    close = body(answers={"mood": 1}, started_at=None, submitted_at=at(1, 35))
    for payload in (first, late, close):
        assert post(client, payload, setup.token).status_code == 201
    assert [stored(p["id"]).flagged for p in (first, late, close)] == [False, False, True]


# --- rate limits ---------------------------------------------------------------------


@pytest.fixture
def rate_limited(app_config: dict[str, Any]) -> None:
    app_config["RATELIMIT_ENABLED"] = True
    app_config["RATELIMIT_SUBMIT_KIOSK"] = "3 per minute"
    app_config["RATELIMIT_SUBMIT_PHONE"] = "2 per minute"


def test_kiosk_rate_limit_is_per_device(
    rate_limited: None, client: FlaskClient, setup: Setup
) -> None:
    codes = [post(client, body(), setup.token).status_code for _ in range(4)]
    assert codes == [201, 201, 201, 429]
    limited = post(client, body(lang="en"), setup.token)
    assert limited.status_code == 429
    assert limited.get_json()["error"] == "too_many_requests"
    assert limited.get_json()["message"].startswith("Too many responses")
    assert 1 <= int(limited.headers["Retry-After"]) <= 60
    other = body(desk="VI-01")
    assert post(client, other, setup.other_token).status_code == 201  # its own budget
    assert count(Response) == 4


def test_phone_rate_limit_is_per_ip_and_fake_tokens_do_not_help(
    rate_limited: None, client: FlaskClient, setup: Setup
) -> None:
    first = {"REMOTE_ADDR": "203.0.113.7"}
    codes = [
        post(client, body(channel="phone"), f"fake-{i}", environ_base=first).status_code
        for i in range(3)
    ]
    assert codes == [201, 201, 429]
    second = {"REMOTE_ADDR": "203.0.113.8"}
    assert post(client, body(channel="phone"), environ_base=second).status_code == 201


# --- never a 500 ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "payload",
    [
        {"id": None, "desk": None, "answers": None},
        {"questionnaire": {"slug": "\x00", "version": 1}},
        {"questionnaire": {"slug": "kiosk_quick", "version": -(2**63)}},
        {"questionnaire": {"slug": "x" * 10_000, "version": 1}},
        {"answers": {"mood": 2**80}},
        {"answers": {"mood": 5, "\x00": "\x00"}},
        {"answers": {"mood": 5, "positives": [["nhanh"]]}},
        {"answers": {"mood": 5, "positives": [{"a": 1}]}},
        {"answers": {"mood": 5, "fu_wait": -1e308}},
        {"submitted_at": "+99999-01-01T00:00:00+00:00"},
        {"submitted_at": "0001-01-01T00:00:00+14:00"},
        {"started_at": "0001-01-01T00:00:00+01:00"},
        {"dossier": "\x00" * 10},
        {"dossier": "\ud800"},
        {"lang": {"vi": 1}},
        {"channel": None, "lang": None},
    ],
)
def test_odd_input_is_never_a_500(
    app: Flask, client: FlaskClient, setup: Setup, payload: dict[str, Any]
) -> None:
    app.config["PROPAGATE_EXCEPTIONS"] = False
    for channel in ("kiosk", "phone"):
        full = dict(body(channel=channel), **payload)
        response = post(client, {k: v for k, v in full.items() if v is not None}, setup.token)
        assert response.status_code in (201, 400, 401, 409, 422), response.get_json()
        assert response.is_json


# --- the service, as the phone form calls it -------------------------------------------


def test_submit_can_be_called_without_http(app: Flask, setup: Setup) -> None:
    result = entry.submit(body(channel="phone"), device_token=None, client_ip="198.51.100.1")
    assert result.status == 201 and result.stored and result.body["status"] == "created"
    with pytest.raises(AttributeError):
        result.status = 500  # type: ignore[misc]
    refused = entry.submit(["not", "a", "dict"], device_token=None, client_ip=None)  # type: ignore[arg-type]
    assert refused.status == 400 and not refused.stored


# --- the OpenAPI document ------------------------------------------------------------


def test_openapi_document_is_valid(client: FlaskClient) -> None:
    from openapi_spec_validator import validate

    response = client.get("/api/v1/openapi.json")
    assert response.status_code == 200
    document = response.get_json()
    validate(document)
    operation = document["paths"]["/responses"]["post"]
    assert set(operation["responses"]) == {
        "200", "201", "400", "401", "409", "413", "415", "422", "429", "503",
    }  # fmt: skip


def schema_validator(document: dict[str, Any], name: str) -> Any:
    from jsonschema import Draft202012Validator

    return Draft202012Validator(
        {"$ref": f"#/components/schemas/{name}", "components": document["components"]}
    )


def test_documented_schemas_match_real_bodies(client: FlaskClient, setup: Setup) -> None:
    document = client.get("/api/v1/openapi.json").get_json()
    submission = schema_validator(document, "Submission")
    submission.validate(document["components"]["schemas"]["Submission"]["example"])
    payload = body()
    submission.validate(payload)
    assert not submission.is_valid(dict(payload, comment="x"))
    schema_validator(document, "Stored").validate(post(client, payload, setup.token).get_json())
    invalid = post(client, body(answers={"mood": 0}, channel="fax"), setup.token).get_json()
    schema_validator(document, "ValidationError").validate(invalid)
    conflict = post(client, dict(payload, answers={"mood": 1}), setup.token).get_json()
    schema_validator(document, "Error").validate(conflict)
