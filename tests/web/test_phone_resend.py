"""The phone form: odd digits are a 4xx, and a double tap or a resend stores one answer.

The last page carries the survey in a signed ``resume`` field with ``submitted_at``
fixed when it was rendered, so sending it again is the same submission (200, stored
once) even seconds later, from a stale cookie, or with no session cookie at all.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from survey_app.collection import phone
from survey_app.extensions import db
from survey_app.models import Response
from tests.helpers.kiosk_phone import make_desk


@pytest.fixture
def desk(app: Flask) -> Any:
    return make_desk(app)


def stored() -> list[Response]:
    db.session.rollback()
    return list(db.session.scalars(select(Response)))


@pytest.mark.parametrize("value", ["²", "④", "٣", "３", "1²"])
def test_a_non_ascii_digit_is_refused_not_a_500(
    app: Flask, client: FlaskClient, desk: Any, value: str
) -> None:
    app.config["PROPAGATE_EXCEPTIONS"] = False
    response = client.post("/s/Q-C", data={"step": "rating", "action": "next", "mood": value})
    assert 400 <= response.status_code < 500
    assert "field-error" in response.get_data(as_text=True)


def last_page_form(client: FlaskClient) -> dict[str, str]:
    """Answer the first two pages; the last page's hidden fields and an answer."""
    client.post("/s/Q-C", data={"step": "rating", "action": "next", "mood": "2"})
    client.post("/s/Q-C", data={"step": "reasons", "problems": ["cho_lau"], "action": "next"})
    page = client.get("/s/Q-C?step=follow_up").get_data(as_text=True)
    resume = re.search(r'name="resume" value="([^"]+)"', page)
    assert resume is not None, "the last page carries the survey"
    return {"step": "follow_up", "action": "next", "fu_wait": "1", "resume": resume.group(1)}


def test_a_double_tap_is_answered_200_and_stored_once(
    app: Flask, client: FlaskClient, desk: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    form = last_page_form(client)
    cookie = client.get_cookie("session")
    assert cookie is not None
    first = client.post("/s/Q-C", data=form)
    assert first.status_code == 302 and first.headers["Location"].endswith("/thanks")
    # The server's clock has moved on (a minute later): the answer must not change.
    later = (datetime.now(UTC) + timedelta(minutes=1)).isoformat(timespec="seconds")
    monkeypatch.setattr(phone, "now_iso", lambda: later)
    # The second tap, from the page as it was (the cookie before the first answer) ...
    again = app.test_client()
    again.set_cookie("session", cookie.value)
    second = again.post("/s/Q-C", data=form)
    assert second.status_code == 302 and second.headers["Location"].endswith("/thanks")
    # ... and after it (the survey is gone from the session) ...
    third = client.post("/s/Q-C", data=form)
    assert third.status_code == 302 and third.headers["Location"].endswith("/thanks")
    # ... and from a phone that lost its session cookie.
    fourth = app.test_client().post("/s/Q-C", data=form)
    assert fourth.status_code == 302 and fourth.headers["Location"].endswith("/thanks")
    [row] = stored()
    assert row.answers == {"mood": 2, "problems": ["cho_lau"], "fu_wait": 1}


def test_a_forged_resume_field_is_ignored(client: FlaskClient, desk: Any) -> None:
    form = last_page_form(client)
    form["resume"] = form["resume"][:-4] + "AAAA"
    response = client.post("/s/Q-C", data=form)  # the session's survey is used instead
    assert response.status_code == 302
    [row] = stored()
    assert row.answers["mood"] == 2


def test_a_changed_answer_with_the_same_id_is_not_stored_twice(
    client: FlaskClient, desk: Any
) -> None:
    form = last_page_form(client)
    assert client.post("/s/Q-C", data=form).status_code == 302
    changed = client.post("/s/Q-C", data=form | {"fu_wait": "5"})
    assert changed.status_code == 409
    assert len(stored()) == 1
