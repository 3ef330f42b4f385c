"""Hostile strings in every field of every form: never a 5xx, nothing stored broken.

The field names are read from the forms the app itself renders (every GET page of
``app.url_map``, as a province-wide administrator, on the demo province), so a new
form is covered without editing this file. Every POST rule then receives those
fields filled with hostile strings (the sweep of ``test_hostile_routes``), and
hypothesis mixes random hostile text into random fields. A form may legitimately
accept some of these values (a unit may be named ``=1+1``: downloads neutralise it),
so the checks are: no 5xx, no response stored without its answers, and no stored
name or code holding a character no input may hold.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select
from werkzeug.routing import Rule

from survey_app.edge import FORBIDDEN
from survey_app.extensions import db
from survey_app.models import Desk, Unit, User, Wave
from tests.helpers.hostile import (
    HOSTILE,
    counts,
    encode,
    hostile_text,
    path_with,
    valid_values,
)

pytestmark = pytest.mark.demo

FIELD = re.compile(r'<(?:input|select|textarea)\b[^>]*\bname="([^"]+)"')
#: Forms whose success would end the test's own session or log it out.
SKIPPED = {"auth.logout", "auth.password"}


def field_names(app: Flask, client: FlaskClient) -> list[str]:
    """Every field name of every form the app renders to an administrator."""
    names: set[str] = set()
    for rule in app.url_map.iter_rules():
        if "GET" not in (rule.methods or set()) or "<path:" in rule.rule:
            continue
        if rule.endpoint.startswith(("api.", "static", "assets.")):
            continue
        url = path_with(rule, {k: encode(v) for k, v in valid_values(rule).items()})
        with client.get(url) as reply:
            if reply.mimetype == "text/html":
                names.update(FIELD.findall(reply.get_data(as_text=True)))
    names.discard("csrf_token")
    return sorted(names)


def post_rules(app: Flask) -> list[Rule]:
    return sorted(
        (
            rule
            for rule in app.url_map.iter_rules()
            if "POST" in (rule.methods or set())
            and rule.endpoint not in SKIPPED
            and not rule.rule.startswith("/api/")  # JSON: tests/hostile/test_hostile_api.py
        ),
        key=lambda rule: rule.rule,
    )


def post(client: FlaskClient, rule: Rule, form: dict[str, Any]) -> int:
    url = path_with(rule, {k: encode(v) for k, v in valid_values(rule).items()})
    data = {name: value.encode("utf-8", "surrogatepass") for name, value in form.items()}
    with client.post(url, data=data) as reply:
        assert reply.status_code < 500, (url, sorted(form)[:5], reply.data[:300])
        return reply.status_code


def nothing_broken(before_responses: int) -> None:
    db.session.rollback()
    after = counts()
    assert after.bare == 0
    assert after.responses == before_responses  # no form here stores a response
    stored = [
        *db.session.scalars(select(Unit.code)),
        *db.session.scalars(select(Unit.name_vi)),
        *db.session.scalars(select(Desk.code)),
        *db.session.scalars(select(Desk.name)),
        *db.session.scalars(select(User.username)),
        *db.session.scalars(select(Wave.code)),
        *db.session.scalars(select(Wave.name_vi)),
    ]
    assert [text for text in stored if FORBIDDEN.search(text)] == []


def test_every_form_field_with_every_hostile_string(
    app: Flask,
    clients: dict[str, FlaskClient],
) -> None:
    admin = clients["admin"]
    names = field_names(app, admin)
    assert {"code", "name_vi", "username", "unit"} <= set(names)  # the harvest really ran
    before = counts().responses
    sent = 0
    for rule in post_rules(app):
        for value in HOSTILE:
            for who in ("anonymous", "admin"):
                post(clients[who], rule, dict.fromkeys(names, value))
                sent += 1
    assert sent > 200
    nothing_broken(before)


def test_random_hostile_text_in_random_form_fields(
    app: Flask,
    clients: dict[str, FlaskClient],
) -> None:
    admin = clients["admin"]
    names = field_names(app, admin)
    rules = post_rules(app)
    before = counts().responses

    @settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck))
    @given(
        rule=st.sampled_from(rules),
        form=st.dictionaries(st.sampled_from(names), hostile_text, min_size=1, max_size=8),
    )
    def attack(rule: Rule, form: dict[str, str]) -> None:
        post(admin, rule, form)

    attack()
    nothing_broken(before)
