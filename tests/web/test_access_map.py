"""Every endpoint of ``app.url_map`` either is public on purpose or refuses whoever may not
use it: anonymous visitors, users of another role, and users whose unit scope does not
cover the unit, wave, desk, account or weighting scheme named in the address.

New endpoints are picked up automatically. An endpoint must be either in ``PUBLIC``
(with a reason) or refuse; views declare their roles with ``access.role_required``,
which this test reads (``required_roles``). A URL parameter is filled from the demo
province by its name; a new kind of parameter must be added to ``SCOPED`` or
``NEUTRAL`` in ``tests/helpers/demo_paths.py``, and the test says so.

Also here: CSRF is enforced on every POST endpoint except the token-authenticated
submission API.
"""

from __future__ import annotations

import html
import json
import re
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from werkzeug.routing import Rule

from survey_app.admin import accounts
from survey_app.extensions import db
from survey_app.models import (
    Role,
    Unit,
    User,
)
from tests.helpers.demo_paths import (
    SCOPE_UNIT,
    Demo,
    build_path,
    client_for,
    demo_values,
    parameter_kind,
)

pytestmark = pytest.mark.demo

# Endpoints anyone may use, and why.
PUBLIC: dict[str, str] = {
    "static": "CSS, scripts and images",
    "assets.plotly_js": "the charting library, served locally",
    "main.index": "home page with the language switch",
    "main.kiosk_entry": "tells citizens this kiosk is not ready yet",
    "main.phone_entry": "citizens pick their desk",
    "main.healthz": "health check",
    "auth.login": "the login form (rate-limited)",
    "kiosk.service_worker": "the kiosk's offline worker script",
    "kiosk.kiosk": "the citizens' kiosk form of an active desk",
    "kiosk.check": "checks a kiosk device token (bearer authentication)",
    "kiosk.audio": "read-aloud files of the citizens' forms (questions and answers)",
    "phone.survey": "the citizens' phone form",
    "phone.thanks": "the phone form's thank-you page",
    "api.submit_response": "the submission API (kiosk device token or anonymous phone)",
    "api.openapi_document": "the API's OpenAPI description",
}
# Open to any logged-in account, whatever its role.
ANY_ACCOUNT = {"auth.logout": "logging out", "auth.password": "changing one's own password"}
# POST endpoints exempt from CSRF by design: no cookie grants anything there.
CSRF_EXEMPT = {"api.submit_response": "JSON submission API, authenticated by device token"}

PASSWORD = "access-map-password"
REFUSED = {401, 403, 404}


def scoped_arguments(rule: Rule) -> list[str]:
    return [n for n in rule.arguments if parameter_kind(rule, n) not in ("neutral",)]


def endpoint_roles(app: Flask, endpoint: str) -> frozenset[Role] | None:
    return getattr(app.view_functions[endpoint], "required_roles", None)


def rules(app: Flask) -> Iterator[tuple[Rule, str]]:
    """Every (rule, method) pair, HEAD and OPTIONS left out."""
    for rule in app.url_map.iter_rules():
        for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
            yield rule, method


def is_refusal(response: Any, *, anonymous: bool) -> bool:
    if response.status_code in REFUSED:
        return True
    location = response.headers.get("Location", "")
    return anonymous and response.status_code in (302, 303) and "/auth/login" in location


def call(client: FlaskClient, method: str, path: str, query: str = "") -> Any:
    url = path + (("&" if "?" in path else "?") + query if query else "")
    if method == "GET":
        return client.get(url)
    return client.open(url, method=method, data={})


def body_text(response: Any) -> str:
    if response.is_json:
        return json.dumps(response.get_json(), ensure_ascii=False)
    if (response.mimetype or "").startswith(("text/", "application/xml", "image/svg")):
        return html.unescape(response.get_data(as_text=True))
    return ""


@pytest.fixture
def demo(app: Flask, client: FlaskClient) -> Demo:
    return demo_values()


@pytest.fixture
def users(demo: Demo) -> dict[str, User]:
    """An unscoped user per role, and per role a user scoped to one ward."""
    made: dict[str, User] = {}
    for role in Role:
        made[role.value] = accounts.create_user(f"map_{role.value}", PASSWORD, role)
        made[f"{role.value}@ward"] = accounts.create_user(
            f"map_{role.value}_ward", PASSWORD, role, SCOPE_UNIT
        )
    demo.inside["user"] = str(made["leader@ward"].id)
    return made


def test_every_endpoint_is_public_or_refuses_outsiders(
    app: Flask, demo: Demo, users: dict[str, User]
) -> None:
    failures = access_failures(app, demo, users)
    assert not failures, "\n".join(failures)


def test_the_walk_finds_an_unprotected_page_and_a_scope_leak(
    app: Flask, demo: Demo, users: dict[str, User]
) -> None:
    """The walk itself is checked: pages that forget a check are reported."""
    from survey_app.access import READERS, role_required

    @app.get("/_open")
    def open_page() -> str:
        return "no login asked"

    @app.get("/_leaky/<unit_code>")
    @role_required(*READERS)
    def leaky(unit_code: str) -> str:
        return " ".join(db.session.scalars(select(Unit.name_vi)))

    failures = "\n".join(access_failures(app, demo, users))
    assert "GET /_open (open_page): anonymous got 200" in failures
    assert "/_open (open_page): role kiosk got 200" in failures
    assert "GET /_leaky/QNG-BS (leaky): leader of HM-MH got 200" in failures
    assert re.search(r"GET /_leaky/HM-MH\?.* \(leaky\): leader of HM-MH received", failures)


def access_failures(app: Flask, demo: Demo, users: dict[str, User]) -> list[str]:
    """Every way an endpoint lets in someone it should refuse, one line each."""
    failures: list[str] = []
    unknown = sorted(
        f"{rule.endpoint}: <{name}>"
        for rule in app.url_map.iter_rules()
        if rule.endpoint not in PUBLIC
        for name in rule.arguments
        if parameter_kind(rule, name) == "unknown"
    )
    assert not unknown, (
        "the access map cannot fill these URL parameters; add them to SCOPED or NEUTRAL "
        f"in tests/helpers/demo_paths.py: {unknown}"
    )
    anonymous = client_for(app, None)
    clients = {key: client_for(app, user) for key, user in users.items()}
    stale = sorted((set(PUBLIC) | set(ANY_ACCOUNT)) - set(app.view_functions))
    assert not stale, f"allow-listed endpoints that no longer exist: {stale}"

    for rule, method in rules(app):
        endpoint = rule.endpoint
        if endpoint in PUBLIC:
            continue
        path = build_path(rule, demo, "inside")
        response = call(anonymous, method, path)
        if not is_refusal(response, anonymous=True):
            failures.append(f"{method} {path} ({endpoint}): anonymous got {response.status_code}")
        if endpoint in ANY_ACCOUNT:
            continue
        roles = endpoint_roles(app, endpoint)
        # Undeclared endpoints must at least keep kiosk devices out (they only submit).
        wrong = [r for r in Role if roles is not None and r not in roles] or [Role.KIOSK]
        for role in wrong:
            response = call(clients[role.value], method, path)
            if not is_refusal(response, anonymous=False):
                failures.append(
                    f"{method} {path} ({endpoint}): role {role.value} got {response.status_code}"
                )

        allowed = [
            r for r in (Role.LEADER, Role.ANALYST, Role.ADMIN) if roles is None or r in roles
        ]
        if not allowed:
            continue
        scoped = clients[f"{allowed[0].value}@ward"]
        if scoped_arguments(rule):
            outside = build_path(rule, demo, "outside")
            response = call(scoped, method, outside)
            if not is_refusal(response, anonymous=False):
                failures.append(
                    f"{method} {outside} ({endpoint}): {allowed[0].value} of {SCOPE_UNIT} "
                    f"got {response.status_code}"
                )
        if method == "GET":
            # Whatever the page accepts, nothing of the other province comes back.
            query = "unit=QNG-BS&unit=QNG&parent=QNG&wave=QN-2022&to=QN-2022&from=QN-2021"
            response = call(scoped, method, path, query)
            leaked = [m for m in demo.markers if m in body_text(response)]
            if response.status_code < 400 and leaked:
                failures.append(
                    f"GET {path}?{query} ({endpoint}): {allowed[0].value} of {SCOPE_UNIT} "
                    f"received {leaked[:3]}"
                )
    return failures


def test_every_post_form_needs_the_csrf_token(
    app_config: dict[str, Any], make_demo_app: Callable[[], Flask]
) -> None:
    app = make_demo_app()
    with app.app_context():
        demo = demo_values()
        admin = accounts.create_user("csrf_admin", PASSWORD, Role.ADMIN)
        demo.inside["user"] = str(admin.id)
        posts = [(rule, m) for rule, m in rules(app) if m == "POST"]
        assert any(rule.endpoint == "auth.login" for rule, _ in posts)
        failures = []
        for user in (None, admin):
            client = client_for(app, user)
            for rule, method in posts:
                path = build_path(rule, demo, "inside")
                response = client.open(path, method=method, data={"x": "1"})
                if rule.endpoint in CSRF_EXEMPT:
                    if response.status_code == 400 and b"CSRF" in response.data:
                        failures.append(f"{path}: exempt by design but asked for a CSRF token")
                elif response.status_code != 400:
                    who = user.username if user else "anonymous"
                    failures.append(
                        f"POST {path} ({rule.endpoint}) as {who}: {response.status_code}"
                    )
        assert not failures, "\n".join(failures)


@pytest.fixture
def make_demo_app(app_config: dict[str, Any]) -> Iterator[Callable[[], Flask]]:
    """The test's demo database served by an app with CSRF protection on."""
    from survey_app import create_app

    made: list[Flask] = []

    def factory() -> Flask:
        application = create_app(app_config | {"WTF_CSRF_ENABLED": True})
        made.append(application)
        return application

    yield factory
    for application in made:
        with application.app_context():
            db.session.remove()
            for engine in db.engines.values():  # the submissions engine too
                engine.dispose()
