"""Security settings: headers on every response, debug off, secrets only as hashes."""

from __future__ import annotations

import re
import uuid
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import inspect, select, text
from werkzeug.datastructures import Headers

from survey_app import security
from survey_app.collection import desks
from survey_app.extensions import db
from survey_app.models import Desk, Response
from tests.helpers.desks import commune_desk

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize(
    "path", ["/", "/kiosk/", "/s/", "/auth/login", "/healthz", "/api/v1/openapi.json", "/nope"]
)
def test_every_response_carries_the_security_headers(client: FlaskClient, path: str) -> None:
    response = client.get(path)
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["Referrer-Policy"] == "strict-origin-when-cross-origin"
    policy = dict(
        directive.strip().split(" ", 1)
        for directive in response.headers["Content-Security-Policy"].split(";")
    )
    assert policy["default-src"] == "'self'"
    assert policy["script-src"] == "'self'"  # no inline scripts, no eval
    assert policy["frame-ancestors"] == "'none'"
    assert policy["worker-src"] == "'self'"
    assert policy["img-src"] == "'self' data: blob:"  # Plotly's PNG download
    assert policy["object-src"] == "'none'"
    # Plotly needs inline styles; that exception is for styles only.
    assert "unsafe" not in policy["script-src"] and "unsafe-eval" not in policy["style-src"]


def test_api_errors_carry_the_headers_too(client: FlaskClient) -> None:
    response = client.post("/api/v1/responses", data=b"{", content_type="application/json")
    assert response.status_code == 400
    assert response.headers["X-Content-Type-Options"] == "nosniff"


def test_headers_can_be_overridden_or_removed(app_config: dict) -> None:
    app_config["SECURITY_HEADERS"] = {"X-Frame-Options": None, "Referrer-Policy": "no-referrer"}
    from survey_app import create_app

    client = create_app(app_config).test_client()
    response = client.get("/healthz")
    assert "X-Frame-Options" not in response.headers
    assert response.headers["Referrer-Policy"] == "no-referrer"
    assert response.headers["Content-Security-Policy"] == security.CONTENT_SECURITY_POLICY


def test_a_header_already_set_is_kept_and_one_configured_as_none_is_removed() -> None:
    """Both forms of the rule (werkzeug's ``Headers`` for Flask's responses, a WSGI list
    for the submission lane) keep a security header a response already has, whatever
    the case of its name, and remove one configured as None even when it is there."""
    config = {"SECURITY_HEADERS": {"X-Frame-Options": None}}
    given = [
        ("Content-Type", "application/json"),
        ("referrer-policy", "no-referrer"),
        ("X-Frame-Options", "SAMEORIGIN"),
    ]
    headers = Headers(given)
    security.add_security_headers(headers, config)
    listed = security.with_security_headers(list(given), config)
    for result in (headers.to_wsgi_list(), listed):
        names = [name.lower() for name, _value in result]
        assert names.count("referrer-policy") == 1
        assert ("referrer-policy", "no-referrer") in result
        assert "x-frame-options" not in names
        assert ("Content-Security-Policy", security.CONTENT_SECURITY_POLICY) in result
    assert sorted(headers.to_wsgi_list()) == sorted(listed)


def test_templates_have_no_inline_scripts_or_handlers() -> None:
    """The CSP forbids inline scripts: none may be written in a template."""
    offenders = []
    for template in (ROOT / "survey_app" / "templates").rglob("*.html"):
        source = template.read_text(encoding="utf-8")
        for match in re.finditer(r"<script\b([^>]*)>", source):
            attributes = match.group(1)
            if "src=" not in attributes and "application/json" not in attributes:
                offenders.append(f"{template.name}: inline <script{attributes}>")
        if re.search(r"\son[a-z]+\s*=", source):
            offenders.append(f"{template.name}: inline event handler")
        if "javascript:" in source:
            offenders.append(f"{template.name}: javascript: URL")
    assert offenders == []


def test_run_script_serves_with_gunicorn_and_debug_off() -> None:
    script = (ROOT / "scripts" / "run.sh").read_text(encoding="utf-8")
    assert re.search(r"exec .*gunicorn", script)
    assert "--reload" not in script and "flask run" not in script
    assert not re.search(r"FLASK_DEBUG=(1|true)|--debug", script)


def test_the_app_is_not_in_debug_mode_by_default(monkeypatch: pytest.MonkeyPatch) -> None:
    from survey_app import create_app

    monkeypatch.delenv("FLASK_DEBUG", raising=False)
    assert create_app({"SECRET_KEY": "x"}).debug is False


def all_text(app: Flask) -> str:
    """Every value of every row of every table, as one string."""
    chunks = []
    with db.engine.connect() as connection:
        for table in inspect(db.engine).get_table_names():
            for row in connection.execute(text(f'SELECT * FROM "{table}"')):
                chunks.extend(str(value) for value in row)
    return "\n".join(chunks)


def test_kiosk_tokens_and_dossier_codes_are_stored_only_as_hashes(
    app: Flask, client: FlaskClient
) -> None:
    token = commune_desk(app, "SC", "SC-01", unit_vi="Xã", unit_en="Commune", desk_name="Quầy")
    dossier = "HS-2025-000123-SECRET"
    payload = {
        "id": str(uuid.uuid4()),
        "desk": "SC-01",
        "questionnaire": {"slug": "kiosk_quick", "version": 1},
        "answers": {"mood": 4},
        "channel": "phone",
        "lang": "vi",
        "submitted_at": "2025-03-01T09:30:00+07:00",
        "dossier": dossier,
    }
    assert client.post("/api/v1/responses", json=payload).status_code == 201
    db.session.rollback()
    desk = db.session.scalar(select(Desk).where(Desk.code == "SC-01"))
    assert desk is not None and desk.token_hash == desks.hash_token(token)
    row = db.session.scalar(select(Response).where(Response.dossier_hash.is_not(None)))
    assert row is not None and len(row.dossier_hash or "") == 64
    stored = all_text(app)
    assert token not in stored
    assert dossier not in stored and dossier.replace("-", "") not in stored.upper()
