"""The classes of server errors an adversarial tester found, one explicit example each.

Every one of these answered 500 before the edge guard (survey_app/edge.py), the
bounded URL converter, the bounded numbers and the capped error lists:

1. a lone surrogate in a free-text answer of the JSON API;
2. a number beyond any float (``1e400``, a 400-digit integer) in a number item;
3. (tests/hostile/test_body_timeout.py: a Content-Length larger than the body);
4. an unknown value of an enumerated query parameter of the read API;
5. a 20-digit id in an ``<int:...>`` route;
6. NUL bytes and control characters in paths, query strings and forms (PostgreSQL
   refuses NUL in text);
7. a trend across waves without answers for the unit;
8. an error reply that echoed a 1.75 MB body twelvefold.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import urlencode

import pytest
from flask import Flask
from flask.testing import FlaskClient
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from survey_app.collection.submissions.body import parse_request_body, plain_text
from survey_app.collection.submissions.result import RequestBodyError
from survey_app.edge import forbidden_in
from survey_app.extensions import db
from survey_app.models import AnswerValue, Response, Role
from survey_app.openapi.common import ECHO_MAX
from tests.helpers.accounts import login
from tests.helpers.desks import commune_desk
from tests.helpers.questionnaire_cases import lab, one_section

API = "/api/v1/responses"
SUBMITTED = "2025-03-01T09:30:00+07:00"

NUMBER_FORM = one_section(
    "hostile_numbers",
    lab("Phiếu thử số", "Number test form"),
    [
        {"code": "mood", "type": "smiley", "faces": 5, "required": True,
         "label": lab("Hài lòng", "Satisfied")},
        {"code": "visits", "type": "number", "min": 0, "max": 100,
         "label": lab("Số lần đến", "Visits")},
        {"code": "minutes", "type": "number", "min": 0, "max": 600, "integer": False,
         "label": lab("Số phút chờ", "Minutes waited")},
        {"code": "comment", "type": "text", "max_length": 200, "label": lab("Góp ý", "Comment")},
    ],
)  # fmt: skip


class Kiosk:
    """An app with one desk, its device token and a questionnaire with number items."""

    def __init__(self, app: Flask) -> None:
        self.app = app
        with app.app_context():
            self.token = commune_desk(
                app, "HE", "HE-01", unit_vi="Xã biên", unit_en="Edge commune",
                desk_name="Quầy biên", shipped=False, questionnaire=NUMBER_FORM,
            )  # fmt: skip
            db.session.remove()

    def post(self, payload: dict[str, Any] | bytes) -> Any:
        body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
        return self.app.test_client().post(
            API,
            data=body,
            headers={"Content-Type": "application/json", "Authorization": f"Bearer {self.token}"},
        )

    def stored(self) -> tuple[int, int]:
        with self.app.app_context():
            responses = db.session.scalar(select(func.count()).select_from(Response))
            values = db.session.scalar(select(func.count()).select_from(AnswerValue))
            db.session.remove()
        return int(responses or 0), int(values or 0)


@pytest.fixture
def kiosk(make_app: Callable[[], Flask]) -> Iterator[Kiosk]:
    app = make_app()
    app.config.update(PROPAGATE_EXCEPTIONS=False)
    yield Kiosk(app)


def payload(**answers: Any) -> dict[str, Any]:
    return {
        "id": str(uuid.uuid4()),
        "desk": "HE-01",
        "questionnaire": {"slug": "hostile_numbers", "version": 1},
        "answers": {"mood": 4, **answers},
        "channel": "kiosk",
        "lang": "vi",
        "submitted_at": SUBMITTED,
    }


def fields(reply: Any) -> set[str]:
    return {error["field"] for error in reply.get_json()["errors"]}


# --- 1. lone surrogates and control characters in JSON strings ----------------------------


@pytest.mark.parametrize("text", ["\ud800", "ý kiến \udfff", "a\x00b", "\x1b[31m", "\x7f"])
def test_surrogates_and_controls_in_free_text_are_422_naming_the_field(
    kiosk: Kiosk, text: str
) -> None:
    reply = kiosk.post(payload(comment=text))
    assert reply.status_code == 422, reply.data[:300]
    assert fields(reply) == {"answers.comment"}
    assert reply.get_json()["errors"][0]["code"] == "invalid_characters"
    assert kiosk.stored() == (0, 0)


@pytest.mark.parametrize("text", ["\x7f", "ý kiến \x85", "\x9f!"])
def test_controls_written_as_themselves_are_422_too(kiosk: Kiosk, text: str) -> None:
    """DEL and the C1 controls can stand unescaped in a JSON string: a body without an
    escape is only taken as plain text after a search of the whole text
    (collection/submissions/body.py, ``plain_text``)."""
    raw = json.dumps(payload(comment=text), ensure_ascii=False).encode()
    assert b"\\" not in raw
    reply = kiosk.post(raw)
    assert reply.status_code == 422, reply.data[:300]
    assert fields(reply) == {"answers.comment"}
    assert kiosk.stored() == (0, 0)


JSON_TEXT = st.text(st.characters(exclude_categories=()), max_size=6)
JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | JSON_TEXT,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(JSON_TEXT, inner, max_size=3),
    max_leaves=8,
)


def texts_in(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, list):
        for item in value:
            yield from texts_in(item)
    elif isinstance(value, dict):
        for key, item in value.items():
            yield key
            yield from texts_in(item)


@settings(max_examples=300)
@given(value=JSON_VALUES, escaped=st.booleans())
def test_a_body_taken_as_plain_text_holds_no_forbidden_character(value: Any, escaped: bool) -> None:
    """Whatever the JSON text, when ``plain_text`` lets it skip the search field by
    field, no string decoded from it (keys included) holds a forbidden character."""
    raw = json.dumps({"answers": value}, ensure_ascii=escaped).encode("utf-8", "surrogatepass")
    try:
        payload, text = parse_request_body(raw, "application/json")
    except RequestBodyError:
        return  # refused before any search (a lone surrogate is not UTF-8)
    if plain_text(text):
        assert not any(forbidden_in(found, multiline=True) for found in texts_in(payload))


def test_tab_and_newline_stay_allowed_in_free_text(kiosk: Kiosk) -> None:
    reply = kiosk.post(payload(comment="Dòng một\n\tdòng hai\r\n"))
    assert reply.status_code == 201
    assert kiosk.stored()[0] == 1


@pytest.mark.parametrize(
    ("field", "value"),
    [("desk", "HE-01\x00"), ("desk", "\ud800"), ("submitted_at", SUBMITTED + "\x00"),
     ("channel", "kiosk\x00"), ("dossier", "HS\ud800"),
     ("id", "3f0c9a52-8d1e-4b7a-9c6d-2e5f1a7b8c90\n")],
)  # fmt: skip
def test_controls_in_any_submission_field_are_422_naming_it(
    kiosk: Kiosk, field: str, value: str
) -> None:
    body = payload()
    body[field] = value
    reply = kiosk.post(body)
    assert reply.status_code == 422, reply.data[:300]
    assert field in fields(reply)
    assert kiosk.stored() == (0, 0)


def test_surrogates_in_answer_keys_and_slugs_are_422(kiosk: Kiosk) -> None:
    body = payload(**{"\ud800": 1})
    body["questionnaire"] = {"slug": "hostile\x00numbers", "version": 1}
    reply = kiosk.post(body)
    assert reply.status_code == 422
    assert kiosk.stored() == (0, 0)


# --- 2. numbers beyond any float ---------------------------------------------------------


@pytest.mark.parametrize(
    "raw", ["1e400", "-1e400", "1" + "0" * 400, "-" + "9" * 309, str(2**64), "1e308"]
)
@pytest.mark.parametrize("item", ["visits", "minutes"])
def test_huge_numbers_are_422_out_of_range(kiosk: Kiosk, raw: str, item: str) -> None:
    body = json.dumps(payload()).replace('"mood": 4', f'"mood": 4, "{item}": {raw}')
    reply = kiosk.post(body.encode())
    assert reply.status_code == 422, reply.data[:300]
    assert fields(reply) == {f"answers.{item}"}
    assert len(reply.data) < 2_000  # the 400 digits are not echoed
    assert kiosk.stored() == (0, 0)


def test_huge_numbers_elsewhere_in_a_submission_are_4xx(kiosk: Kiosk) -> None:
    for raw in ("1e400", "1" + "0" * 400):
        for body in (
            json.dumps(payload()).replace('"mood": 4', f'"mood": {raw}'),
            json.dumps(payload()).replace('"version": 1', f'"version": {raw}'),
            json.dumps(payload()).replace('"lang": "vi"', f'"lang": {raw}'),
        ):
            reply = kiosk.post(body.encode())
            assert reply.status_code == 422, (body[:120], reply.data[:300])
    assert kiosk.stored() == (0, 0)


# --- 8. error replies are bounded ------------------------------------------------------


def test_error_reply_to_a_huge_body_is_a_few_kilobytes(kiosk: Kiosk) -> None:
    answers = {f"{'k' * 60}{i}": "v" * 100 for i in range(10_000)}  # about 1.75 MB
    body = payload(**answers)
    body["desk"] = "x" * 200_000
    raw = json.dumps(body).encode()
    assert len(raw) > 1_700_000
    reply = kiosk.post(raw)
    assert reply.status_code == 422
    assert len(reply.data) < 12_000, len(reply.data)
    data = reply.get_json()
    assert data["errors_total"] > len(data["errors"])
    assert all(len(e["field"]) <= ECHO_MAX + 1 for e in data["errors"])
    assert kiosk.stored() == (0, 0)


def test_every_error_is_listed_when_there_are_few(kiosk: Kiosk) -> None:
    body = payload(visits=-1, comment="x" * 300)
    body["lang"] = "fr"
    reply = kiosk.post(body)
    assert fields(reply) == {"answers.visits", "answers.comment", "lang"}
    assert "errors_total" not in reply.get_json()


# --- the read API and every page: logged in on the demo province -------------------------


@pytest.fixture
def admin(app: Flask, client: FlaskClient) -> FlaskClient:
    app.config.update(PROPAGATE_EXCEPTIONS=False)
    login(client, "edge_admin", Role.ADMIN)
    return client


# 4. enumerated query parameters
ENUMERATED = [
    ("/api/v1/indices?unit=NA-HM&wave=HM-2017", "channel", "telepathy"),
    ("/api/v1/indices?unit=NA-HM&wave=HM-2017", "by", "colour"),
    ("/api/v1/indices?unit=NA-HM&wave=HM-2017", "kind", "median"),
    ("/api/v1/indices?unit=NA-HM&wave=HM-2017", "lang", "fr"),
    ("/api/v1/changes?unit=NA-HM&from=HM-2017&to=HM-2018-05", "kind", "median"),
    ("/api/v1/changes?unit=NA-HM&from=HM-2017&to=HM-2018-05", "lang", "xx"),
    ("/api/v1/trends?unit=NA-HM&wave=HM-2017&wave=HM-2018-05&wave=HM-2018-12", "kind", "²"),
    ("/api/v1/rankings?parent=QNG&wave=QN-2022", "unit_kind", "province\x01"),
    ("/api/v1/rankings?parent=QNG&wave=QN-2022", "kind", "RATE"),
]


@pytest.mark.demo
@pytest.mark.parametrize(("url", "name", "value"), ENUMERATED)
def test_unknown_enumerated_values_are_400_naming_the_parameter(
    admin: FlaskClient, url: str, name: str, value: str
) -> None:
    reply = admin.get(f"{url}&{urlencode({name: value})}")
    assert reply.status_code == 400, reply.data[:300]
    body = reply.get_json()
    assert body["error"] in ("invalid_parameter", "invalid_characters")
    if body["error"] == "invalid_parameter":
        assert name in body["message"]


@pytest.mark.demo
def test_unknown_channel_message_lists_the_valid_ones(admin: FlaskClient) -> None:
    reply = admin.get("/api/v1/indices?unit=NA-HM&wave=HM-2017&channel=telepathy&lang=en")
    assert reply.status_code == 400
    message = reply.get_json()["message"]
    assert "channel" in message and "kiosk" in message and "phone" in message
    vi = admin.get("/api/v1/indices?unit=NA-HM&wave=HM-2017&channel=telepathy").get_json()
    assert "kênh" in vi["message"].lower() or "channel" in vi["message"]


# 5. out-of-range ids
@pytest.mark.demo
@pytest.mark.parametrize(
    "url",
    ["/admin/users/99999999999999999999/password", "/admin/users/2147483648/password",
     "/admin/questionnaires/sipas/99999999999999999999",
     "/analyst/data/template/sipas/v99999999999999999999.csv"],
)  # fmt: skip
def test_ids_beyond_the_database_integer_are_404(admin: FlaskClient, url: str) -> None:
    assert admin.get(url).status_code == 404


@pytest.mark.demo
def test_posted_ids_beyond_the_database_integer_are_404(admin: FlaskClient) -> None:
    assert admin.post("/admin/users/99999999999999999999/active").status_code == 404
    reply = admin.post("/analyst/weights/HM-2017/schemes/99999999999999999999/activate")
    assert reply.status_code == 404


def test_the_int_converter_still_takes_ids_in_range(app: Flask) -> None:
    adapter = app.url_map.bind("localhost")
    assert adapter.match("/admin/users/2147483647/password")[1] == {"user_id": 2147483647}
    for bad in ("2147483648", "١٢", "²"):
        with pytest.raises(Exception) as error:
            adapter.match(f"/admin/users/{bad}/password")
        assert getattr(error.value, "code", None) == 404


# 6. NUL bytes and control characters at the edge
@pytest.mark.parametrize(
    "url",
    ["/s/%00", "/kiosk/%00", "/kiosk/%00/check", "/s/%00/thanks", "/s/a%01b", "/kiosk/%7F",
     "/?lang=%00", "/s/?x=%00", "/auth/login?next=%00", "/nowhere/%00"],
)  # fmt: skip
def test_nul_and_controls_in_anonymous_urls_are_400(client: FlaskClient, url: str) -> None:
    reply = client.get(url)
    assert reply.status_code == 400, (url, reply.status_code)
    assert "ký tự" in reply.get_data(as_text=True)


def test_nul_in_the_login_name_is_400(client: FlaskClient) -> None:
    reply = client.post("/auth/login", data={"username": "admin\x00", "password": "x" * 12})
    assert reply.status_code == 400
    renamed = client.post("/auth/login", data={"username\x00": "a", "password": "b"})
    assert renamed.status_code == 400


def test_the_edge_answers_api_paths_in_json(client: FlaskClient) -> None:
    reply = client.get("/api/v1/indices?unit=%00&wave=x", headers={"Accept-Language": "en"})
    assert reply.status_code == 400
    assert reply.get_json()["error"] == "invalid_characters"
    assert "unit" in reply.get_json()["message"]


def test_newlines_in_form_text_pass_the_edge(client: FlaskClient) -> None:
    # Only the wrong password stops this login: the edge let the text through.
    reply = client.post("/auth/login", data={"username": "a\r\nb\tc", "password": "x" * 12})
    assert reply.status_code == 200


@pytest.mark.demo
@pytest.mark.parametrize(
    "url",
    ["/dashboard/unit/%00", "/admin/units/%00/edit", "/admin/desks/%00/edit",
     "/scorecard/%00/HM-2017", "/analyst/weights/%00/", "/analyst/data/export/%00.csv",
     "/dashboard/?unit=%00", "/dashboard/compare?units=NA-HM&units=%00",
     "/admin/audit/?user=%00", "/analyst/planner/?margin=%00&parent=%00"],
)  # fmt: skip
def test_nul_in_logged_in_urls_is_400(admin: FlaskClient, url: str) -> None:
    assert admin.get(url).status_code == 400


@pytest.mark.demo
def test_nul_in_admin_forms_is_400_and_stores_nothing(admin: FlaskClient) -> None:
    reply = admin.post(
        "/admin/units/new",
        data={"code": "NUL\x00", "name_vi": "Đơn vị\x00", "name_en": "x", "kind": "commune"},
    )
    assert reply.status_code == 400
    assert admin.get("/admin/units/NUL/edit").status_code == 404


# 7. trends without answers
@pytest.mark.demo
def test_trend_across_waves_without_answers_for_the_unit_is_422(admin: FlaskClient) -> None:
    reply = admin.get(
        "/api/v1/trends?unit=QNG&wave=HM-2017&wave=HM-2018-05&wave=HM-2018-12&lang=en"
    )
    assert reply.status_code == 422, reply.data[:300]
    assert reply.get_json()["error"] == "cannot_compute"
    assert "no answers" in reply.get_json()["message"]


def _phone_form_path_exists(app: Flask) -> bool:
    return any(rule.endpoint == "phone.survey" for rule in app.url_map.iter_rules())


def test_nul_in_the_phone_form_is_400_before_any_lookup(app: Flask, client: FlaskClient) -> None:
    assert _phone_form_path_exists(app)
    reply = client.post("/s/QL-01", data={"step": "main", "comment": "x\x00y"})
    assert reply.status_code == 400
