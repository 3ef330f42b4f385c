"""Script payloads are shown as text, and no page breaks its Content-Security-Policy.

On the demo province, a citizen's comment and a unit's name hold
``<script>window.__xss=1</script><img src=x onerror=window.__xss=2>``. The test opens
the public pages, logs in as an administrator and opens every HTML page of the
dashboard, scorecard and admin blueprints (every GET route, its parameters filled
from the demo: units, waves, questionnaires, users, desks), whatever pages exist when
it runs. On each page: ``window.__xss`` stays undefined, the payload never appears
unescaped in the HTML, no ``securitypolicyviolation`` event fires and the console
reports no error.
"""

from __future__ import annotations

import itertools
import uuid
from typing import Any

import pytest
from flask import Flask
from playwright.sync_api import Page
from sqlalchemy import select

from survey_app.admin import accounts
from survey_app.extensions import db
from survey_app.models import AnswerValue, Desk, Questionnaire, Response, Role, Unit, User, Wave

pytestmark = [pytest.mark.browser, pytest.mark.demo, pytest.mark.slow]

PAYLOAD = "<script>window.__xss=1</script><img src=x onerror=window.__xss=2>"
PASSWORD = "correct-horse-battery-xss"
BLUEPRINTS = ("dashboard", "scorecard", "admin", "admin_desks")
WATCH = """
window.__csp = [];
document.addEventListener('securitypolicyviolation', (e) => {
  window.__csp.push(e.violatedDirective + ' ' + (e.blockedURI || 'inline'));
});
"""


def plant_payloads(app: Flask) -> dict[str, list[str]]:
    """A comment and a unit name holding the payload; returns route parameter values."""
    with app.app_context():
        accounts.create_user("xss_admin", PASSWORD, Role.ADMIN)
        unit = db.session.scalars(select(Unit).order_by(Unit.id)).all()[-1]
        unit.name_vi = f"{unit.name_vi} {PAYLOAD}"
        unit.name_en = f"{unit.name_en} {PAYLOAD}"
        template = db.session.scalar(
            select(Response).join(Questionnaire).where(Questionnaire.slug == "sipas").limit(1)
        )
        if template is not None:
            answers = dict(template.answers, comment=PAYLOAD)
            copy = Response(
                **{
                    column.key: getattr(template, column.key)
                    for column in Response.__table__.columns
                    if column.key not in ("id", "client_id", "answers")
                },
                client_id=uuid.uuid4(),
                answers=answers,
            )
            db.session.add(copy)
            db.session.flush()
            for value in db.session.scalars(
                select(AnswerValue).where(AnswerValue.response_id == template.id)
            ):
                db.session.add(
                    AnswerValue(
                        response_id=copy.id,
                        item_id=value.item_id,
                        value=value.value,
                        wave_id=copy.wave_id,  # its response's (the partition on PostgreSQL)
                    )
                )
        db.session.commit()
        values = {
            "code": [unit.code, *db.session.scalars(select(Desk.code).limit(1))],
            "unit_code": [unit.code],
            "wave_code": list(db.session.scalars(select(Wave.code).order_by(Wave.id))),
            "slug": ["sipas", "kiosk_quick"],
            "version": ["1"],
            "user_id": [str(db.session.scalar(select(User.id).limit(1)))],
        }
        db.session.remove()
    return values


def candidate_urls(app: Flask, values: dict[str, list[str]]) -> dict[str, list[str]]:
    """Every GET route of the watched blueprints, with parameter values to try."""
    routes: dict[str, list[str]] = {}
    for rule in app.url_map.iter_rules():
        blueprint = rule.endpoint.split(".")[0]
        if blueprint not in BLUEPRINTS or "GET" not in (rule.methods or ()):
            continue
        if any(part in rule.rule for part in (".pdf", ".png", ".svg", ".csv", "download")):
            continue
        names = sorted(rule.arguments)
        if any(name not in values for name in names):
            continue
        urls = []
        for combo in itertools.product(*(values[name] for name in names)):
            with app.test_request_context():
                from flask import url_for

                urls.append(url_for(rule.endpoint, **dict(zip(names, combo, strict=True))))
        routes[rule.endpoint] = urls
    return routes


def visit(page: Page, url: str, problems: list[str]) -> tuple[int, str]:
    errors: list[str] = []
    listener = lambda msg: errors.append(msg.text) if msg.type == "error" else None  # noqa: E731
    page.on("console", listener)
    try:
        reply = page.goto(url)
        assert reply is not None
        page.wait_for_load_state("load")
        status = reply.status
        html = reply.text() if "html" in reply.headers.get("content-type", "") else ""
        if status == 200 and html:
            if page.evaluate("typeof window.__xss") != "undefined":
                problems.append(f"{url}: the script payload ran")
            if "<script>window.__xss" in html or "<img src=x onerror" in html:
                problems.append(f"{url}: the payload is in the HTML unescaped")
            violations = page.evaluate("window.__csp || []")
            problems.extend(f"{url}: CSP violation {v}" for v in violations)
            problems.extend(f"{url}: console error {e}" for e in errors)
        return status, html
    finally:
        page.remove_listener("console", listener)


def test_payloads_are_escaped_and_no_page_breaks_the_csp(
    live_app: Flask, live_server: Any, page: Page
) -> None:
    values = plant_payloads(live_app)
    page.add_init_script(WATCH)
    problems: list[str] = []
    base = live_server.url

    for path in ("/", "/kiosk/", "/s/", "/auth/login", f"/s/{values['code'][-1]}"):
        status, _html = visit(page, base + path, problems)
        assert status == 200, path

    page.goto(base + "/auth/login")
    page.fill("input[name=username]", "xss_admin")
    page.fill("input[name=password]", PASSWORD)
    page.locator("form button[type=submit], form input[type=submit]").last.click()
    page.wait_for_load_state("load")

    opened: list[str] = []
    shown_escaped = 0
    for endpoint, urls in sorted(candidate_urls(live_app, values).items()):
        for url in urls:
            status, html = visit(page, base + url, problems)
            if status == 200:
                opened.append(endpoint)
                shown_escaped += "&lt;script&gt;window.__xss=1&lt;/script&gt;" in html
                break
            assert status in (400, 403, 404), f"{url}: {status}"
    assert "dashboard.overview" in opened, opened
    assert shown_escaped >= 1, "no page showed the planted text (escaped)"
    assert problems == []
