"""Rate limits: counted in the database (``survey-sql://``), keyed by account, device
token or the client address that ProxyFix reads behind ``TRUSTED_PROXIES`` proxies.

The multi-worker behaviour (4 gunicorn workers) is in
``tests/reliability/test_rate_limits_served.py``.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from flask import Flask, request
from flask.testing import FlaskClient
from sqlalchemy import func, select

from survey_app import create_app
from survey_app.admin import accounts
from survey_app.extensions import db, limiter
from survey_app.models import AuditLog, Response, Role
from survey_app.models.system import RateLimitCounter
from survey_app.ratelimit_storage import DatabaseStorage
from tests.helpers import kiosk_api
from tests.helpers.databases import IsolatedClient, dispose_engines
from tests.helpers.desks import commune_desk
from tests.helpers.threads import run_in_threads

PASSWORD = "a-long-test-password"


@pytest.fixture
def limited(app_config: dict[str, Any]) -> Iterator[Flask]:
    """The app with rate limits on, in the default (database) storage, behind one proxy."""
    app_config |= {
        "RATELIMIT_ENABLED": True,
        "RATELIMIT_LOGIN": "3 per minute",
        "RATELIMIT_LOGIN_ADDRESS": "5 per minute",
        "RATELIMIT_SUBMIT_KIOSK": "3 per minute",
        "RATELIMIT_SUBMIT_PHONE": "2 per minute",
        "TRUSTED_PROXIES": 1,
    }
    application = create_app(app_config)
    application.test_client_class = IsolatedClient
    with application.app_context():
        yield application
        db.session.remove()
        dispose_engines()


def via_proxy(address: str) -> dict[str, Any]:
    """What nginx adds: the client's address as the last X-Forwarded-For value."""
    return {"headers": {"X-Forwarded-For": address}, "environ_base": {"REMOTE_ADDR": "10.0.0.2"}}


def login(client: FlaskClient, username: str, password: str, address: str) -> int:
    form = {"username": username, "password": password}
    return client.post("/auth/login", data=form, **via_proxy(address)).status_code


def failed_logins(username: str) -> int:
    db.session.rollback()
    query = select(func.count()).where(
        AuditLog.action == "login.failed", AuditLog.username == username
    )
    return int(db.session.scalar(query) or 0)


# --- the storage ----------------------------------------------------------------------


def test_the_database_storage_is_the_default(limited: Flask) -> None:
    assert limited.config["RATELIMIT_STORAGE_URI"] == "survey-sql://"
    assert isinstance(limiter.storage, DatabaseStorage)


def test_database_storage_counts_expires_and_sweeps(app: Flask) -> None:
    storage = DatabaseStorage("survey-sql://")
    now = [time.time()]
    storage.clock = lambda: now[0]  # moved forward below instead of waiting
    assert storage.check()
    assert [storage.incr("k", 60) for _ in range(3)] == [1, 2, 3]
    assert storage.get("k") == 3 and storage.get("other") == 0
    assert now[0] + 55 < storage.get_expiry("k") <= now[0] + 60
    assert storage.incr("short", 1, amount=2) == 2
    now[0] += 1.1  # the one-second window has passed
    assert storage.get("short") == 0
    assert storage.incr("short", 60) == 1  # an expired window starts again
    long_key = "x" * 1000
    assert storage.incr(long_key, 60) == 1 and storage.get(long_key) == 1
    storage.clear("k")
    assert storage.get("k") == 0
    # The sweep deletes expired rows (at most once a minute per process).
    storage.incr("gone", 1)
    now[0] += 1.1
    storage._next_sweep = 0.0
    storage.incr("fresh", 60)
    db.session.rollback()
    keys = set(db.session.scalars(select(RateLimitCounter.key)))
    assert "gone" not in keys and "fresh" in keys
    assert storage.reset() == len(keys)


def test_concurrent_increments_are_all_counted(app: Flask) -> None:
    """Eight threads, each with its own connection, 25 hits each: the count is 200."""
    storage = DatabaseStorage("survey-sql://")
    results: list[int] = []
    lock = threading.Lock()

    def hit() -> None:
        with app.app_context():
            mine = [storage.incr("shared", 60) for _ in range(25)]
        with lock:
            results.extend(mine)

    run_in_threads(hit, 8)
    assert sorted(results) == list(range(1, 201))  # every value handed out exactly once
    assert storage.get("shared") == 200


# --- the client address -----------------------------------------------------------------


def _address_probe(application: Flask) -> None:
    @application.get("/_address")
    def address() -> str:
        return str(request.remote_addr)


def test_proxy_fix_takes_the_address_the_trusted_proxy_saw(limited: Flask) -> None:
    _address_probe(limited)
    client = limited.test_client()
    # A client's own X-Forwarded-For value comes first; the proxy appends the real one.
    spoofed = {"X-Forwarded-For": "6.6.6.6, 203.0.113.9"}
    response = client.get("/_address", headers=spoofed, environ_base={"REMOTE_ADDR": "10.0.0.2"})
    assert response.get_data(as_text=True) == "203.0.113.9"


def test_without_trusted_proxies_the_header_is_ignored(app: Flask) -> None:
    assert app.config["TRUSTED_PROXIES"] == 0
    _address_probe(app)
    client = app.test_client()
    response = client.get(
        "/_address",
        headers={"X-Forwarded-For": "6.6.6.6"},
        environ_base={"REMOTE_ADDR": "10.0.0.2"},
    )
    assert response.get_data(as_text=True) == "10.0.0.2"


# --- logins ---------------------------------------------------------------------------


def test_password_guesses_are_limited_per_account(limited: Flask) -> None:
    accounts.create_user("victim", PASSWORD, Role.LEADER)
    accounts.create_user("colleague", PASSWORD, Role.LEADER)
    client = limited.test_client()
    # Guesses at one account from two addresses share the account's budget (3).
    codes = [login(client, "victim", "wrong", f"203.0.113.{i % 2}") for i in range(4)]
    assert codes == [200, 200, 200, 429]
    assert failed_logins("victim") == 3
    # The colleague behind the same office address logs in: not locked out.
    assert login(limited.test_client(), "colleague", PASSWORD, "203.0.113.0") == 302
    # The account's own owner is limited too until the window ends (that is the point).
    assert login(limited.test_client(), "victim", PASSWORD, "198.51.100.1") == 429


def test_one_address_trying_many_accounts_meets_the_address_limit(limited: Flask) -> None:
    client = limited.test_client()
    codes = [login(client, f"user{i}", "wrong", "203.0.113.5") for i in range(6)]
    assert codes == [200] * 5 + [429]  # RATELIMIT_LOGIN_ADDRESS: 5 per minute
    assert login(client, "user9", "wrong", "203.0.113.6") == 200  # another address


def test_password_change_shares_the_account_budget(limited: Flask) -> None:
    accounts.create_user("victim", PASSWORD, Role.LEADER)
    client = limited.test_client()
    assert login(client, "victim", PASSWORD, "203.0.113.1") == 302
    form = {"current": "wrong-guess", "password": "x" * 12, "confirm": "x" * 12}
    codes = [
        client.post("/auth/password", data=form, **via_proxy("203.0.113.1")).status_code
        for _ in range(3)
    ]
    assert codes == [200, 200, 429]  # the login above used one of the 3


# --- submissions ------------------------------------------------------------------------


@pytest.fixture
def desk_token(limited: Flask) -> str:
    return commune_desk(limited, "CT", "CT-1")


def submission(channel: str) -> dict[str, Any]:
    """A submission of desk CT-1 through ``channel``, sent now."""
    return kiosk_api.body(
        desk="CT-1",
        answers={"mood": 4},
        channel=channel,
        started_at=None,
        submitted_at=datetime.now(UTC).isoformat(),
    )


def submit(client: FlaskClient, channel: str, address: str, token: str | None = None) -> int:
    options = via_proxy(address)
    if token is not None:
        options["headers"]["Authorization"] = f"Bearer {token}"
    return client.post("/api/v1/responses", json=submission(channel), **options).status_code


def test_wrong_tokens_do_not_use_up_the_phone_quota(limited: Flask, desk_token: str) -> None:
    client = limited.test_client()
    # Someone (or a kiosk with a stale token) behind the office address tries tokens.
    wrong = [submit(client, "kiosk", "203.0.113.7", f"guess-{i}") for i in range(5)]
    assert wrong == [401, 401, 429, 429, 429]
    # Citizens' phones: from another address and even from the same one, untouched.
    assert [submit(client, "phone", "198.51.100.3") for _ in range(3)] == [201, 201, 429]
    assert [submit(client, "phone", "203.0.113.7") for _ in range(2)] == [201, 201]
    # The kiosk's own budget is its device token's, wherever it sends from.
    kiosk = [submit(client, "kiosk", f"192.0.2.{i}", desk_token) for i in range(4)]
    assert kiosk == [201, 201, 201, 429]
    assert db.session.scalar(select(func.count()).select_from(Response)) == 7
