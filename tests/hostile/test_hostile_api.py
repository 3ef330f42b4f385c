"""Hostile and malformed input against the JSON API: always a clear 4xx, never a 5xx.

Two kinds of attack, both counted (``HOSTILE_CASES``):

- property-based (hypothesis): malformed JSON, invalid UTF-8, arbitrary JSON values in
  every field, out-of-range and unknown answer codes, very long strings, SQL-injection
  and script payloads, bodies above ``MAX_CONTENT_LENGTH``;
- schemathesis: cases generated from ``/api/v1/openapi.json`` for every operation
  (valid and invalid by the schema), sent to the WSGI app.

Every answer must be a 4xx (or 2xx for a valid case) with a JSON body whose message is
not empty, and nothing may be stored partially: every stored response has its answer
rows and the number of stored responses equals the number of 201 answers.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import schemathesis
from flask import Flask
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from survey_app.collection.submissions import schema
from survey_app.collection.submissions.dossiers import normalise_dossier
from survey_app.extensions import db
from survey_app.models import AnswerValue, Response
from tests.helpers.desks import commune_desk
from tests.helpers.questionnaire_cases import lab, one_section

API = "/api/v1/responses"
SUBMITTED = "2025-03-01T09:30:00+07:00"
MAX_BODY = 16 * 1024  # MAX_CONTENT_LENGTH for these tests

#: How many hostile requests each test sent (printed at the end with -s).
HOSTILE_CASES: dict[str, int] = {}

SQL_INJECTIONS = [
    "' OR '1'='1",
    "'; DROP TABLE responses; --",
    "1; DELETE FROM answer_values WHERE 1=1",
    '" OR 1=1 --',
    "QL-01' UNION SELECT token_hash FROM desks --",
    "kiosk_quick'||pg_sleep(5)||'",
    "\\'; SELECT 1; --",
]
SCRIPTS = [
    "<script>window.__xss=1</script><img src=x onerror=window.__xss=2>",
    '"><svg onload=alert(1)>',
    "javascript:alert(document.cookie)",
    "{{7*7}}{% raw %}",
    "</script><script>alert(1)</script>",
]
NASTY_STRINGS = [
    *SQL_INJECTIONS,
    *SCRIPTS,
    "\x00",
    "\ud800",
    "\u202e\u0000\ufeff",
    "x" * 100_000,
    "Ông/Bà 😀" * 2_000,
]
#: The same without the 100 kB string (hypothesis refuses to print such examples).
SHORTER_STRINGS = [text for text in NASTY_STRINGS if len(text) < 50_000]

# A small questionnaire with a free-text comment, loaded beside the shipped ones.
COMMENT_FORM = one_section(
    "hostile_test",
    lab("Phiếu thử", "Test form"),
    [
        {"code": "mood", "type": "smiley", "faces": 5, "required": True,
         "label": lab("Hài lòng", "Satisfied")},
        {"code": "comment", "type": "text", "max_length": 200, "label": lab("Góp ý", "Comment")},
    ],
)  # fmt: skip


class Seeded:
    def __init__(self, app: Flask) -> None:
        self.app = app
        with app.app_context():
            self.token = commune_desk(
                app, "HX", "HX-01", desk_name="Quầy thử", questionnaire=COMMENT_FORM
            )
            db.session.remove()
        self.created = 0

    def counts(self) -> tuple[int, int, int]:
        """Responses, answer rows, responses without answer rows."""
        with self.app.app_context():
            responses = db.session.scalar(select(func.count()).select_from(Response))
            values = db.session.scalar(select(func.count()).select_from(AnswerValue))
            bare = db.session.scalar(
                select(func.count())
                .select_from(Response)
                .where(~select(AnswerValue).where(AnswerValue.response_id == Response.id).exists())
            )
            db.session.remove()
        return int(responses or 0), int(values or 0), int(bare or 0)


@pytest.fixture
def seeded(make_app: Callable[[], Flask]) -> Iterator[Seeded]:
    app = make_app()
    app.config.update(MAX_CONTENT_LENGTH=MAX_BODY, PROPAGATE_EXCEPTIONS=False)
    yield Seeded(app)


def valid(**changes: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "id": str(uuid.uuid4()),
        "desk": "HX-01",
        "questionnaire": {"slug": "hostile_test", "version": 1},
        "answers": {"mood": 4, "comment": "Cảm ơn"},
        "channel": "kiosk",
        "lang": "vi",
        "submitted_at": SUBMITTED,
    }
    base.update(changes)
    return base


def send(seeded: Seeded, data: bytes, name: str, content_type: str = "application/json") -> Any:
    HOSTILE_CASES[name] = HOSTILE_CASES.get(name, 0) + 1
    client = seeded.app.test_client()
    response = client.post(
        API,
        data=data,
        headers={"Content-Type": content_type, "Authorization": f"Bearer {seeded.token}"},
    )
    assert response.status_code < 500, (response.status_code, data[:200])
    assert response.is_json, response.data[:200]
    body = response.get_json()
    if response.status_code >= 400:
        assert 400 <= response.status_code < 500
        assert isinstance(body.get("message"), str) and body["message"].strip(), body
    if response.status_code == 201:
        seeded.created += 1
    return response


def assert_nothing_partial(seeded: Seeded) -> None:
    responses, values, bare = seeded.counts()
    assert bare == 0, "a response was stored without its answers"
    assert responses == seeded.created, "something was stored without a 201"
    if responses == 0:
        assert values == 0


HYPOTHESIS = settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False)
    | st.text(max_size=40)
    | st.sampled_from(SHORTER_STRINGS),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=12,
)
FIELDS = ["id", "desk", "questionnaire", "answers", "channel", "lang", "submitted_at",
          "started_at", "dossier", "comment"]  # fmt: skip


# --- bodies that are not JSON objects ---------------------------------------------------


@HYPOTHESIS
@given(raw=st.binary(max_size=300))
def test_arbitrary_bytes_are_4xx(seeded: Seeded, raw: bytes) -> None:
    send(seeded, raw, "arbitrary bytes")
    assert_nothing_partial(seeded)


@pytest.mark.parametrize(
    "raw",
    [
        b"\xff\xfe{}", b'{"id": "\xc3\x28"}', b"\xed\xa0\x80", b'{"a": 1',
        b"[" * 10_000, b'{"a": NaN}', b'{"a": Infinity}', b"null", b"[]", b'"text"',
        b'{"id": 1}' * 3, b"\x00" * 64, json.dumps(valid()).encode("utf-16"),
    ],
)  # fmt: skip
def test_malformed_json_and_invalid_utf8_are_400(seeded: Seeded, raw: bytes) -> None:
    response = send(seeded, raw, "malformed JSON / invalid UTF-8")
    assert response.status_code in (400, 422)
    assert_nothing_partial(seeded)


@pytest.mark.parametrize("content_type", ["text/plain", "application/x-www-form-urlencoded", ""])
def test_other_content_types_are_415(seeded: Seeded, content_type: str) -> None:
    response = send(seeded, json.dumps(valid()).encode(), "wrong content type", content_type)
    assert response.status_code == 415
    assert_nothing_partial(seeded)


@pytest.mark.parametrize("size", [MAX_BODY + 1, 10 * MAX_BODY])
def test_oversize_bodies_are_413(seeded: Seeded, size: int) -> None:
    payload = valid(answers={"mood": 4, "comment": "x" * size})
    response = send(seeded, json.dumps(payload).encode(), "oversize body")
    assert response.status_code == 413
    assert_nothing_partial(seeded)


# --- JSON objects with hostile fields ----------------------------------------------------


@HYPOTHESIS
@given(field=st.sampled_from(FIELDS), value=json_values)
def test_any_value_in_any_field_is_never_a_5xx(seeded: Seeded, field: str, value: Any) -> None:
    payload = valid()
    payload[field] = value
    send(seeded, json.dumps(payload).encode(), "wrong types and values")
    assert_nothing_partial(seeded)


@HYPOTHESIS
@given(
    answers=st.dictionaries(
        st.sampled_from(["mood", "comment", "positives", "nope", "MOOD", "", "a" * 300]),
        st.one_of(
            st.integers(min_value=-(2**70), max_value=2**70),
            st.sampled_from([0, 6, -1, 3.5, True, "5", [5], {"v": 5}, *SHORTER_STRINGS]),
        ),
        max_size=4,
    )
)
def test_out_of_range_and_unknown_answers_are_422(seeded: Seeded, answers: dict[str, Any]) -> None:
    response = send(seeded, json.dumps(valid(answers=answers)).encode(), "answer codes")
    if response.status_code == 201:  # a valid set can come up: it is stored whole
        assert set(answers) <= {"mood", "comment"}
    else:  # 413 when a very long string makes the body exceed MAX_CONTENT_LENGTH
        assert response.status_code in (413, 422)
    assert_nothing_partial(seeded)


@pytest.mark.parametrize("payload", NASTY_STRINGS)
@pytest.mark.parametrize("field", ["id", "desk", "channel", "lang", "submitted_at", "dossier"])
def test_injection_strings_in_fields_are_refused(seeded: Seeded, field: str, payload: str) -> None:
    response = send(seeded, json.dumps(valid(**{field: payload})).encode(), "injection strings")
    if field == "dossier" and response.status_code == 201:
        # Any printable code up to 64 characters is a dossier code: only its keyed hash
        # is stored, so the text never reaches SQL or a page.
        assert len(normalise_dossier(payload)) <= schema.max_length("dossier")
    else:
        assert response.status_code in (400, 413, 422)
    assert_nothing_partial(seeded)


@pytest.mark.parametrize("payload", NASTY_STRINGS)
def test_injection_in_questionnaire_slug_and_answer_keys(seeded: Seeded, payload: str) -> None:
    for body in (
        valid(questionnaire={"slug": payload, "version": 1}),
        valid(answers={"mood": 4, payload: 1}),
    ):
        response = send(seeded, json.dumps(body).encode(), "injection strings")
        assert response.status_code in (400, 413, 422)
    assert_nothing_partial(seeded)


@pytest.mark.parametrize("comment", [*SQL_INJECTIONS, *SCRIPTS])
def test_hostile_comments_are_stored_as_plain_text(seeded: Seeded, comment: str) -> None:
    """A comment is data: stored exactly as sent (trimmed), never interpreted."""
    payload = valid(answers={"mood": 2, "comment": comment})
    response = send(seeded, json.dumps(payload).encode(), "hostile comments (stored)")
    assert response.status_code == 201
    with seeded.app.app_context():
        row = db.session.scalar(
            select(Response).where(Response.client_id == uuid.UUID(payload["id"]))
        )
        assert row is not None and row.answers["comment"] == comment.strip()
        db.session.remove()
    assert_nothing_partial(seeded)


def test_too_long_comment_is_422(seeded: Seeded) -> None:
    payload = valid(answers={"mood": 2, "comment": "<b>" * 100})
    response = send(seeded, json.dumps(payload).encode(), "very long strings")
    assert response.status_code == 422
    assert {e["field"] for e in response.get_json()["errors"]} == {"answers.comment"}
    assert_nothing_partial(seeded)


# --- schemathesis: every operation of the OpenAPI document --------------------------------


@pytest.mark.parametrize("mode", list(schemathesis.GenerationMode), ids=str)
def test_openapi_operations_never_fail_on_the_server(seeded: Seeded, mode: Any) -> None:
    """Cases valid (positive) and invalid (negative) by the schema, on every operation."""
    api = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", seeded.app)
    operations = [result.ok() for result in api.get_all_operations()]
    assert operations, "the OpenAPI document lists no operation"
    strategy = st.one_of(*(operation.as_strategy(generation_mode=mode) for operation in operations))
    with seeded.app.app_context():
        auth = {"Authorization": f"Bearer {seeded.token}"}

    @settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck))
    @given(case=strategy)
    def attack(case: Any) -> None:
        HOSTILE_CASES["schemathesis"] = HOSTILE_CASES.get("schemathesis", 0) + 1
        headers = dict(auth) if case.headers is None or "Authorization" not in case.headers else {}
        response = case.call(headers=headers)
        assert response.status_code < 500, (case.method, case.path, case.body, response.text[:300])
        if response.status_code >= 400:
            body = response.json()
            assert isinstance(body.get("message"), str) and body["message"].strip(), body
        if case.method.upper() == "POST" and response.status_code == 201:
            seeded.created += 1
        assert_nothing_partial(seeded)

    attack()


@pytest.fixture(scope="module", autouse=True)
def report_count() -> Iterator[None]:
    yield
    total = sum(HOSTILE_CASES.values())
    detail = ", ".join(f"{name}: {n}" for name, n in sorted(HOSTILE_CASES.items()))
    print(f"\nhostile cases tried: {total} ({detail}); no server error")
