"""One schema for the document and the validator of ``POST /api/v1/responses``.

The OpenAPI document's ``Submission`` (with ``QuestionnaireRef`` and ``Answers``) is what
the server validates a submission's shape with (``collection/submissions/schema.py``):

- every constraint of those schemas has a case below (a constraint added to the
  document without one fails :func:`test_every_constraint_has_a_case`), and each case
  is caught by the schema's validator and refused by the API naming the field and the
  code, in Vietnamese by default and in English when asked;
- a limit changed in the document changes what is served and what is accepted;
- the fast check that lets a valid payload through (``schema.fits``) never accepts
  what the validator refuses (hypothesis, on payloads a field or two away from valid).
"""

from __future__ import annotations

import copy
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from hypothesis import example, given, settings
from hypothesis import strategies as st

from survey_app.collection.submissions import schema
from survey_app.models import Response
from survey_app.openapi import submissions as document_section
from tests.helpers.kiosk_api import Setup, body, count, fields_of, post

UUID = "3f2b8c4e-1a2b-4c3d-8e9f-0a1b2c3d4e5f"
SUBMISSION = ("Submission",)
REFERENCE = ("QuestionnaireRef",)


def prop(name: str, schema_name: tuple[str, ...] = SUBMISSION) -> tuple[str, ...]:
    return (*schema_name, "properties", name)


def ref(**changes: Any) -> dict[str, Any]:
    return {"slug": "kiosk_quick", "version": 1, **changes}


#: (where, keyword) of each constraint -> (changes to a valid body, (field, code)).
CASES: dict[tuple[tuple[str, ...], str], tuple[dict[str, Any], tuple[str, str]]] = {
    (SUBMISSION, "required"): ({"desk": None}, ("desk", "required")),
    (SUBMISSION, "additionalProperties"): ({"colour": "red"}, ("colour", "unknown_field")),
    (prop("id"), "type"): ({"id": 12}, ("id", "wrong_type")),
    # uuid.UUID() reads it, the pattern does not (a brace after the last group) ...
    (prop("id"), "pattern"): ({"id": UUID + "}"}, ("id", "invalid_uuid")),
    # ... and the reverse: the pattern's $ allows a final newline, uuid.UUID() does not.
    (prop("id"), "format"): ({"id": UUID + "\n"}, ("id", "invalid_uuid")),
    (prop("id"), "not"): ({"id": str(uuid.UUID(int=0))}, ("id", "invalid_uuid")),
    (prop("desk"), "type"): ({"desk": 5}, ("desk", "wrong_type")),
    (prop("desk"), "minLength"): ({"desk": ""}, ("desk", "unknown_desk")),
    (prop("desk"), "maxLength"): ({"desk": "D" * 33}, ("desk", "unknown_desk")),
    (REFERENCE, "type"): ({"questionnaire": "kiosk_quick"}, ("questionnaire", "wrong_type")),
    (REFERENCE, "required"): (
        {"questionnaire": {"slug": "kiosk_quick"}},
        ("questionnaire.version", "required"),
    ),
    (REFERENCE, "additionalProperties"): (
        {"questionnaire": ref(lang="vi")},
        ("questionnaire.lang", "unknown_field"),
    ),
    (prop("slug", REFERENCE), "type"): (
        {"questionnaire": ref(slug=1)},
        ("questionnaire.slug", "wrong_type"),
    ),
    (prop("slug", REFERENCE), "maxLength"): (
        {"questionnaire": ref(slug="k" * 65)},
        ("questionnaire.slug", "unknown_questionnaire"),
    ),
    (prop("version", REFERENCE), "type"): (
        {"questionnaire": ref(version=1.0)},
        ("questionnaire.version", "wrong_type"),
    ),
    (prop("version", REFERENCE), "minimum"): (
        {"questionnaire": ref(version=0)},
        ("questionnaire.version", "unknown_questionnaire"),
    ),
    (("Answers",), "type"): ({"answers": [5]}, ("answers", "wrong_type")),
    (("Answers", "propertyNames"), "pattern"): (
        {"answers": {"mood": 5, "MOOD": 5}},
        ("answers.MOOD", "unknown_item"),
    ),
    (("Answers", "additionalProperties"), "type"): (
        {"answers": {"mood": {"level": 5}}},
        ("answers.mood", "wrong_type"),
    ),
    (("Answers", "additionalProperties", "items"), "type"): (
        {"answers": {"mood": 5, "positives": [1]}},
        ("answers.positives", "wrong_type"),
    ),
    (prop("channel"), "type"): ({"channel": ["kiosk"]}, ("channel", "wrong_type")),
    (prop("channel"), "enum"): ({"channel": "fax"}, ("channel", "invalid_choice")),
    (prop("lang"), "type"): ({"lang": 5}, ("lang", "wrong_type")),
    (prop("lang"), "enum"): ({"lang": "fr"}, ("lang", "invalid_choice")),
    (prop("started_at"), "type"): ({"started_at": 5}, ("started_at", "wrong_type")),
    (prop("submitted_at"), "type"): ({"submitted_at": 5}, ("submitted_at", "wrong_type")),
    (prop("dossier"), "type"): ({"dossier": 5}, ("dossier", "wrong_type")),
    (prop("dossier"), "maxLength"): ({"dossier": "X" * 65}, ("dossier", "too_long")),
}


@pytest.fixture
def setup(app: Flask) -> Setup:
    return Setup(app)


@pytest.fixture
def document() -> Iterator[dict[str, Any]]:
    """The document's schemas, to change in a test; restored and reloaded afterwards."""
    saved = copy.deepcopy(document_section.SCHEMAS)
    yield document_section.SCHEMAS
    document_section.SCHEMAS.clear()
    document_section.SCHEMAS.update(saved)
    schema.reload()


def test_every_constraint_has_a_case() -> None:
    # The top-level type: test_a_payload_that_is_not_an_object_is_400.
    assert set(schema.constraints()) == {*CASES, (SUBMISSION, "type")}


def test_a_payload_that_is_not_an_object_is_400(client: FlaskClient, setup: Setup) -> None:
    """The schema's top-level ``type: object``, checked when the body is read."""
    assert (SUBMISSION, "type") in schema.constraints()
    assert [p.code for p in schema.shape_problems([body()])] == ["wrong_type"]  # type: ignore[arg-type]
    response = post(client, [body()], setup.token)
    assert response.status_code == 400 and response.get_json()["error"] == "bad_request"


@pytest.mark.parametrize("case", list(CASES), ids=lambda case: f"{'.'.join(case[0])}:{case[1]}")
def test_each_constraint_is_refused_naming_the_field(
    client: FlaskClient, setup: Setup, case: tuple[tuple[str, ...], str]
) -> None:
    changes, expected = CASES[case]
    payload = body(**changes)
    shape = {(p.field, p.code) for p in schema.shape_problems(payload)}
    assert expected in shape  # the schema's validator catches it ...
    vietnamese = post(client, payload, setup.token, headers={"Accept-Language": "vi"})
    assert fields_of(vietnamese) == {expected}  # ... and the API says so, alone
    english_payload = dict(payload, lang="en") if payload.get("lang") == "vi" else payload
    english = post(client, english_payload, setup.token, headers={"Accept-Language": "en"})
    assert fields_of(english) == {expected}
    vi_message = vietnamese.get_json()["errors"][0]["message"]
    en_message = english.get_json()["errors"][0]["message"]
    assert vi_message != en_message, (vi_message, en_message)  # translated
    assert count(Response) == 0


def test_a_limit_changed_in_the_document_changes_validation(
    client: FlaskClient, setup: Setup, document: dict[str, Any]
) -> None:
    document["Submission"]["properties"]["dossier"]["maxLength"] = 8
    document["Submission"]["properties"]["channel"]["enum"] = ["kiosk"]
    schema.reload()
    served = client.get("/api/v1/openapi.json").get_json()["components"]["schemas"]
    assert served["Submission"]["properties"]["dossier"]["maxLength"] == 8
    too_long = post(client, body(dossier="HS-123456"), setup.token)
    assert fields_of(too_long) == {("dossier", "too_long")}
    assert "8" in too_long.get_json()["errors"][0]["message"]
    assert post(client, body(dossier="HS-12345"), setup.token).status_code == 201
    phone = post(client, body(channel="phone"))
    assert fields_of(phone) == {("channel", "invalid_choice")}
    assert phone.get_json()["errors"][0]["message"].endswith(": kiosk.")


def test_a_limit_restored_in_the_document_is_the_servers_again(
    client: FlaskClient, setup: Setup
) -> None:
    """The document fixture of the test above left nothing behind."""
    assert schema.max_length("dossier") == 64
    assert post(client, body(dossier="HS-123456"), setup.token).status_code == 201


def test_a_constraint_without_an_error_code_is_refused_at_start(
    document: dict[str, Any],
) -> None:
    document["Submission"]["properties"]["lang"]["pattern"] = "^[a-z]{2}$"
    schema.reload()
    with pytest.raises(LookupError, match="x-error-code"):
        schema.validator()


#: Values at the edges of the schema's rules (1.0 is a number, not an integer), and any
#: JSON value.
EDGES = st.sampled_from([0, 1, True, "", "kiosk", "vi", "fr", UUID, UUID + "\n", "D" * 33])
JSON = (
    EDGES
    | st.integers(-2, 2).map(float)
    | st.recursive(
        st.none()
        | st.booleans()
        | st.integers(-(2**40), 2**40)
        | st.floats(allow_nan=False, allow_infinity=False)
        | st.text(max_size=40),
        lambda inner: (
            st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3)
        ),
        max_leaves=6,
    )
)
#: Where a change goes: a field, or a field within ``questionnaire`` or ``answers``.
PLACES = st.sampled_from(
    [("id",), ("desk",), ("questionnaire",), ("answers",), ("channel",), ("lang",),
     ("started_at",), ("submitted_at",), ("dossier",), ("colour",),
     ("questionnaire", "slug"), ("questionnaire", "version"), ("questionnaire", "lang"),
     ("answers", "mood"), ("answers", "positives"), ("answers", "MOOD"), ("answers", "")]
)  # fmt: skip


# No deadline: the first example may compile the fast check (after a reload).
@settings(deadline=None, max_examples=400)
@example(changes=[(("questionnaire", "version"), 1.0)], dropped=set())  # an integer, to JSON Schema
@given(
    changes=st.lists(st.tuples(PLACES, JSON), max_size=2),
    dropped=st.sets(PLACES.filter(lambda place: len(place) == 1), max_size=1),
)
def test_the_fast_check_never_accepts_what_the_validator_refuses(
    changes: list[tuple[tuple[str, ...], Any]], dropped: set[tuple[str, ...]]
) -> None:
    payload: dict[str, Any] = body()
    for place, value in changes:
        if len(place) == 1:
            payload[place[0]] = value
        elif isinstance(payload.get(place[0]), dict):
            payload[place[0]] = {**payload[place[0]], place[1]: value}
    for (name,) in dropped:
        payload.pop(name, None)
    refused = list(schema.validator().iter_errors(payload))
    if schema.fits(payload):
        assert refused == [], payload
    assert schema.shape_problems(payload) == [] or refused


def test_the_fast_check_lets_a_valid_payload_through() -> None:
    """It must accept what is valid, or every submission pays for the slow walk."""
    assert schema.fits(body()) and list(schema.validator().iter_errors(body())) == []
    assert schema.fits(body(dossier="HS-1", answers={"mood": 5, "positives": ["nhanh"]}))
