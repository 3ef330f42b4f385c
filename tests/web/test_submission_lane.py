"""The submission lane answers ``POST /api/v1/responses`` exactly as Flask does.

``survey_app/blueprints/submission_lane.py`` answers the kiosks' JSON submissions in
an application context, without Flask's request hooks. Each case here is sent twice,
once through Flask (``SUBMISSION_LANE`` false) and once through the lane, with fresh
ids, and the two answers must be the same: status, headers (but ``Date`` and Flask's
``Vary: Cookie``, see :data:`UNCOMPARED`) and body (the client's id replaced); a
property test does the same with random bodies and headers. The rest checks what the
lane leaves to Flask, that the hooks it skips are the ones it lists (and that the
route has no Flask-Limiter limit), and what it does when it fails.
"""

from __future__ import annotations

import json
import logging
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from flask_limiter.util import get_qualified_name
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from sqlalchemy import select
from werkzeug.middleware.proxy_fix import ProxyFix

from survey_app import create_app
from survey_app.blueprints import submission_lane
from survey_app.blueprints.submission_lane import PATH, SKIPPED_HOOKS, SubmissionLane
from survey_app.edge import BodyTimeout
from survey_app.extensions import db, limiter
from survey_app.models import AuditLog, Response
from tests.helpers.databases import IsolatedClient, dispose_engines
from tests.helpers.kiosk_api import Setup, body, count, post

#: A case: sends its requests with the client and the two desks' tokens, returns the
#: last answer and the client ids it used (replaced in the answers before comparing).
Case = Callable[[FlaskClient, Setup], tuple[Any, list[str]]]


@pytest.fixture
def setup(app: Flask) -> Setup:
    return Setup(app)


#: Headers left out of the comparison: the time, and ``Vary: Cookie``, which Flask's
#: answer carries because Flask-Login's after-request hook reads the session (for its
#: remember flag), while the lane reads no cookie at all.
UNCOMPARED = {("Vary", "Cookie")}


def _answer(response: Any, ids: list[str]) -> tuple[int, list[tuple[str, str]], str]:
    text = response.get_data(as_text=True)
    for number, client_id in enumerate(ids):
        text = text.replace(client_id, f"<id {number}>")
    headers = sorted(
        (name, value)
        for name, value in response.headers
        if name != "Date" and (name, value) not in UNCOMPARED
    )
    return response.status_code, headers, text


def _both(app: Flask, client: FlaskClient, setup: Setup, case: Case) -> list[Any]:
    """The case's answer through Flask, then through the lane."""
    answers = []
    for lane in (False, True):
        app.config["SUBMISSION_LANE"] = lane
        response, ids = case(client, setup)
        answers.append(_answer(response, ids))
    app.config["SUBMISSION_LANE"] = True
    return answers


def _created(client: FlaskClient, setup: Setup) -> tuple[Any, list[str]]:
    payload = body()
    return post(client, payload, setup.token), [payload["id"]]


def _repeated(client: FlaskClient, setup: Setup) -> tuple[Any, list[str]]:
    payload = body(answers={"mood": 3})
    post(client, payload, setup.token)
    return post(client, payload, setup.token), [payload["id"]]


def _conflict(client: FlaskClient, setup: Setup) -> tuple[Any, list[str]]:
    payload = body(answers={"mood": 4})
    post(client, payload, setup.token)
    changed = {**payload, "answers": {"mood": 1}}
    return post(client, changed, setup.token), [payload["id"]]


def _invalid_in_english(client: FlaskClient, setup: Setup) -> tuple[Any, list[str]]:
    payload = body(answers={"mood": 9, "nonsense": 1}, lang=None)
    headers = {"Accept-Language": "en-GB,en;q=0.9"}
    return post(client, payload, setup.token, headers=headers), [payload["id"]]


def _invalid_body_language(client: FlaskClient, setup: Setup) -> tuple[Any, list[str]]:
    payload = body(answers={"mood": 0}, lang="en")
    headers = {"Accept-Language": "vi"}
    return post(client, payload, setup.token, headers=headers), [payload["id"]]


def _raw(data: str | bytes, content_type: str = "application/json") -> Case:
    def case(client: FlaskClient, setup: Setup) -> tuple[Any, list[str]]:
        headers = {"Authorization": f"Bearer {setup.token}", "Accept-Language": "en"}
        return client.post(PATH, data=data, content_type=content_type, headers=headers), []

    return case


def _no_token(client: FlaskClient, setup: Setup) -> tuple[Any, list[str]]:
    payload = body()
    return post(client, payload), [payload["id"]]


def _other_desks_token(client: FlaskClient, setup: Setup) -> tuple[Any, list[str]]:
    payload = body()
    return post(client, payload, setup.other_token), [payload["id"]]


def _unknown_desk(client: FlaskClient, setup: Setup) -> tuple[Any, list[str]]:
    payload = body(desk="NO-SUCH-DESK")
    return post(client, payload, setup.token), [payload["id"]]


def _phone(client: FlaskClient, setup: Setup) -> tuple[Any, list[str]]:
    payload = body(channel="phone", desk=None, lang="en")
    return post(client, payload), [payload["id"]]


def _charset(client: FlaskClient, setup: Setup) -> tuple[Any, list[str]]:
    payload = body()
    response = client.post(
        PATH,
        data=json.dumps(payload),
        content_type="Application/JSON; charset=utf-8",
        headers={"Authorization": f"Bearer {setup.token}"},
    )
    return response, [payload["id"]]


def _configured_headers(client: FlaskClient, setup: Setup) -> tuple[Any, list[str]]:
    """SECURITY_HEADERS removing one header (also from the result's own) and adding one."""
    client.application.config["SECURITY_HEADERS"] = {
        "X-Frame-Options": None,
        "Retry-After": None,
        "Permissions-Policy": "camera=()",
    }
    payload = body()
    try:
        response = post(client, payload, setup.token)
    finally:
        client.application.config.pop("SECURITY_HEADERS")
    assert response.headers["Permissions-Policy"] == "camera=()"
    assert "X-Frame-Options" not in response.headers
    return response, [payload["id"]]


def _short_body(client: FlaskClient, setup: Setup) -> tuple[Any, list[str]]:
    payload = body()
    data = json.dumps(payload).encode()
    response = client.post(
        PATH,
        data=data,
        content_type="application/json",
        headers={"Authorization": f"Bearer {setup.token}"},
        environ_overrides={"CONTENT_LENGTH": str(len(data) + 20)},
    )
    return response, [payload["id"]]


CASES: dict[str, Case] = {
    "created": _created,
    "repeated": _repeated,
    "conflict": _conflict,
    "invalid, Accept-Language en": _invalid_in_english,
    "invalid, body lang en": _invalid_body_language,
    "malformed JSON": _raw("{"),
    "NaN": _raw('{"a": NaN}'),
    "not an object": _raw("[1, 2]"),
    "not UTF-8": _raw(b'{"a": "\xff"}'),
    "no token": _no_token,
    "another desk's token": _other_desks_token,
    "unknown desk": _unknown_desk,
    "phone": _phone,
    "content type with charset": _charset,
    "configured security headers": _configured_headers,
    "body shorter than Content-Length": _short_body,
}


@pytest.mark.parametrize("name", list(CASES))
def test_the_lane_answers_as_flask(
    app: Flask, client: FlaskClient, setup: Setup, name: str
) -> None:
    post(client, body(), setup.token)  # the desk's context is remembered (PostgreSQL)
    through_flask, through_lane = _both(app, client, setup, CASES[name])
    assert through_lane == through_flask
    assert through_lane[0] < 500


#: Any JSON value, small; and where a change goes in a valid body.
ANY_JSON = st.recursive(
    st.none() | st.booleans() | st.integers(-3, 40) | st.floats(-2, 2) | st.text(max_size=12),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3)
    ),
    max_leaves=5,
)
FIELDS = ("id", "desk", "questionnaire", "answers", "channel", "lang", "started_at", "submitted_at")
ANSWERS = ("mood", "positives", "problems", "fu_wait", "nonsense")


def _fresh(payload: dict[str, Any]) -> tuple[dict[str, Any], list[str]]:
    """The payload with a new client id if it has a valid one (so that both sends store)."""
    try:
        uuid.UUID(str(payload.get("id")))
    except ValueError:
        return payload, []
    fresh = {**payload, "id": str(uuid.uuid4())}
    return fresh, [fresh["id"]]


@settings(
    deadline=None,
    max_examples=60,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
# Always tried: no lang in the body, so the error's language is Accept-Language's.
@example(
    changes={},
    answers={"mood": 9},
    dropped={"lang"},
    language="en-US,en;q=0.5",
    authorization="valid",
    content_type="application/json",
)
@given(
    changes=st.dictionaries(st.sampled_from(FIELDS), ANY_JSON, max_size=2),
    answers=st.dictionaries(st.sampled_from(ANSWERS), ANY_JSON, max_size=2),
    dropped=st.sets(st.sampled_from(FIELDS), max_size=1),
    language=st.sampled_from(["", "en", "vi", "en-US,en;q=0.5", "fr", "*", "vi;q=0.1, en"]),
    authorization=st.sampled_from(["valid", "lower-case", "other", "none", "basic", "empty"]),
    content_type=st.sampled_from(
        ["application/json", "application/json; charset=utf-8", "APPLICATION/JSON"]
    ),
)
def test_any_submission_is_answered_alike(
    app: Flask,
    client: FlaskClient,
    setup: Setup,
    changes: dict[str, Any],
    answers: dict[str, Any],
    dropped: set[str],
    language: str,
    authorization: str,
    content_type: str,
) -> None:
    """Random bodies, languages, credentials and content types: the lane's answer is
    Flask's (status, headers, body)."""
    payload = body(answers={"mood": 4, **answers})
    payload.update(changes)
    for name in dropped:
        payload.pop(name, None)
    headers = {
        "valid": {"Authorization": f"Bearer {setup.token}"},
        "lower-case": {"Authorization": f"bearer {setup.token}"},
        "other": {"Authorization": f"Bearer {setup.other_token}"},
        "none": {},
        "basic": {"Authorization": "Basic dXNlcjpwYXNz"},
        "empty": {"Authorization": "Bearer "},
    }[authorization]
    if language:
        headers["Accept-Language"] = language

    def case(client: FlaskClient, setup: Setup) -> tuple[Any, list[str]]:
        sent, ids = _fresh(payload)
        data = json.dumps(sent)
        return client.post(PATH, data=data, content_type=content_type, headers=headers), ids

    through_flask, through_lane = _both(app, client, setup, case)
    assert through_lane == through_flask
    assert through_lane[0] < 500


def test_every_case_is_taken_by_the_lane(
    app: Flask, client: FlaskClient, setup: Setup, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The comparison above means something only if the lane answered: it did, for
    every case but the short body, which it hands to Flask."""
    answered: list[int] = []
    real = SubmissionLane.answer

    def counting(self: SubmissionLane, environ: dict[str, Any], raw: bytes) -> Any:
        answered.append(1)
        return real(self, environ, raw)

    monkeypatch.setattr(SubmissionLane, "answer", counting)
    for name, case in CASES.items():
        answered.clear()
        response, _ids = case(client, setup)
        assert bool(answered) == (name != "body shorter than Content-Length"), name
        assert response.status_code < 500, name


def test_too_many_is_answered_alike(app_config: dict[str, Any]) -> None:
    app_config |= {"RATELIMIT_ENABLED": True, "RATELIMIT_SUBMIT_KIOSK": "2 per minute"}
    application = create_app(app_config)
    application.test_client_class = IsolatedClient
    with application.app_context():
        try:
            setup = Setup(application)
            client = application.test_client()
            answers = {}
            for lane, token in ((False, setup.token), (True, setup.other_token)):
                application.config["SUBMISSION_LANE"] = lane
                desk = "QL-01" if token == setup.token else "VI-01"
                statuses = [post(client, body(desk=desk), token).status_code for _ in range(2)]
                assert statuses == [201, 201]
                answers[lane] = post(client, body(desk=desk), token)
            flask_answer, lane_answer = answers[False], answers[True]
            assert lane_answer.status_code == flask_answer.status_code == 429
            assert lane_answer.get_json() == flask_answer.get_json()
            assert lane_answer.headers["Retry-After"].isdigit()
            lane_headers, flask_headers = (
                {name for name, value in answer.headers if (name, value) not in UNCOMPARED}
                for answer in (lane_answer, flask_answer)
            )
            assert lane_headers == flask_headers
        finally:
            db.session.remove()
            dispose_engines()


def _environ(**changes: Any) -> dict[str, Any]:
    environ = {
        "PATH_INFO": PATH,
        "REQUEST_METHOD": "POST",
        "QUERY_STRING": "",
        "CONTENT_TYPE": "application/json",
        "CONTENT_LENGTH": "120",
    }
    environ.update(changes)
    return {key: value for key, value in environ.items() if value is not None}


@pytest.mark.parametrize(
    ("changes", "config"),
    [
        ({"PATH_INFO": "/api/v1/responses/"}, {}),
        ({"PATH_INFO": "/api/v1/indices"}, {}),
        ({"REQUEST_METHOD": "GET"}, {}),
        ({"QUERY_STRING": "lang=en"}, {}),
        ({"CONTENT_TYPE": "application/x-www-form-urlencoded"}, {}),
        ({"CONTENT_TYPE": "multipart/form-data; boundary=x"}, {}),
        ({"CONTENT_TYPE": None}, {}),
        ({"CONTENT_LENGTH": None}, {}),
        ({"CONTENT_LENGTH": "-1"}, {}),
        ({"CONTENT_LENGTH": "١٢"}, {}),
        ({"CONTENT_LENGTH": "12", "HTTP_TRANSFER_ENCODING": "chunked"}, {}),
        ({"CONTENT_LENGTH": "2097153"}, {}),
        ({}, {"SUBMISSION_LANE": False}),
        ({}, {"RATELIMIT_APPLICATION": "100 per minute"}),
        ({}, {"RATELIMIT_DEFAULT": "100 per minute"}),
    ],
)
def test_the_lane_leaves_the_rest_to_flask(
    app: Flask, changes: dict[str, Any], config: dict[str, Any]
) -> None:
    lane = SubmissionLane(app, app.wsgi_app)
    assert lane.body_length(_environ()) == 120
    app.config.update(config)
    assert lane.body_length(_environ(**changes)) is None


def test_a_body_over_the_limit_is_refused_by_flask(client: FlaskClient, setup: Setup) -> None:
    payload = body(answers={"mood": 5}, note="x" * 3_000_000)
    response = post(client, payload, setup.token, headers={"Accept-Language": "en"})
    assert response.status_code == 413
    assert response.get_json()["error"] == "request_entity_too_large"
    assert count(Response) == 0


def _hook_name(hook: Any) -> str:
    return str(getattr(hook, "__name__", None) or hook.func.__name__)


def test_the_skipped_hooks_are_the_apps_hooks(app_config: dict[str, Any]) -> None:
    """A hook added to the app (or to the API blueprint) fails this test until the lane
    has been checked against it and it is listed in SKIPPED_HOOKS (or run by the lane).
    Rate limits on, as in production (the tests' app runs without them)."""
    application = create_app(app_config | {"RATELIMIT_ENABLED": True})
    try:
        names = set()
        hook_lists = (
            application.before_request_funcs,
            application.after_request_funcs,
            application.teardown_request_funcs,
        )
        for hooks in hook_lists:
            for blueprint in (None, "api"):
                names |= {_hook_name(hook) for hook in hooks.get(blueprint, ())}
        assert not application.url_value_preprocessors
        assert not application.url_default_functions
        assert names == set(SKIPPED_HOOKS) | {"set_security_headers"}
    finally:
        with application.app_context():
            dispose_engines()


def test_the_submission_route_has_no_flask_limiter_limit(app_config: dict[str, Any]) -> None:
    """The lane skips Flask-Limiter's check because nothing would be checked: no limit
    on the route, its blueprint, or the whole app (the service counts submissions
    itself, collection/submissions/rate_limit.py). A limit added to any of them fails
    here; the kiosk's own check endpoint shows that a decorated route would be seen."""
    application = create_app(app_config | {"RATELIMIT_ENABLED": True})
    try:
        manager = limiter.limit_manager
        view = application.view_functions["api.submit_response"]
        assert manager.decorated_limits(get_qualified_name(view)) == []
        assert manager.blueprint_limits(application, "api") == []
        assert manager.application_limits == [] and manager.default_limits == []
        kiosk_check = application.view_functions["kiosk.check"]
        assert manager.decorated_limits(get_qualified_name(kiosk_check)) != []
    finally:
        with application.app_context():
            dispose_engines()


def test_the_lane_sits_inside_the_proxy_fix_and_the_body_time_limit(app_config: dict) -> None:
    application = create_app(app_config | {"TRUSTED_PROXIES": 1})
    try:
        outer = application.wsgi_app
        assert isinstance(outer, BodyTimeout)
        proxy = outer.wsgi_app
        assert isinstance(proxy, ProxyFix)
        lane = proxy.app
        assert isinstance(lane, SubmissionLane)
        assert lane.wsgi_app.__func__ is Flask.wsgi_app  # type: ignore[attr-defined]
    finally:
        with application.app_context():
            dispose_engines()


def test_the_client_address_reaches_the_audit_log(client: FlaskClient, setup: Setup) -> None:
    """The first answer of a unit opens its feedback series, an audited system action
    recorded with the address of the kiosk whose answer caused it."""
    response = post(client, body(), setup.token, environ_base={"REMOTE_ADDR": "203.0.113.7"})
    assert response.status_code == 201
    entry = db.session.scalar(select(AuditLog).where(AuditLog.action == "feedback.series"))
    assert entry is not None and entry.ip == "203.0.113.7"


@pytest.fixture
def failing_once(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """The lane's first answer fails after storing the response; Flask then answers."""
    calls: list[str] = []
    real = submission_lane.answer_submission

    def fails_after_storing(*args: Any, **kwargs: Any) -> Any:
        calls.append("lane")
        real(*args, **kwargs)
        raise RuntimeError("a failure after the response was stored")

    monkeypatch.setattr(submission_lane, "answer_submission", fails_after_storing)
    yield calls


def test_a_failure_in_the_lane_is_logged_and_flask_answers(
    client: FlaskClient, setup: Setup, failing_once: list[str], caplog: pytest.LogCaptureFixture
) -> None:
    payload = body()
    with caplog.at_level(logging.WARNING, logger=submission_lane.__name__):
        response = post(client, payload, setup.token)
    assert failing_once == ["lane"]
    assert "the submission lane failed" in caplog.text and "RuntimeError" in caplog.text
    # Flask ran it again: the response the lane stored is found under its id, once.
    assert response.status_code == 200
    assert response.get_json() == {"id": payload["id"], "status": "repeated"}
    stored = db.session.scalars(
        select(Response).where(Response.client_id == uuid.UUID(payload["id"]))
    ).all()
    assert len(stored) == 1
