"""Rate limits under gunicorn with 4 workers behind a proxy (``TRUSTED_PROXIES=1``).

Every request carries X-Forwarded-For as nginx would set it, and the connections are
spread over the workers. The counters live in the database (``survey-sql://``, the
default), so a limit of 10 wrong passwords is 10 for the whole server, not 10 per
worker; a citizen's phone quota belongs to the citizen's address; one account's
failures do not lock out another account from the same address.
"""

from __future__ import annotations

import http.client
import json
import re
import threading
import urllib.parse
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy import create_engine, func, select

from survey_app.admin import accounts, units
from survey_app.collection import desks, questionnaires
from survey_app.extensions import db
from survey_app.models import AuditLog, Response, Role
from tests.helpers.served_app import HOST, Gunicorn
from tests.helpers.threads import run_in_threads

pytestmark = pytest.mark.slow

PASSWORD = "a-long-test-password"
LOGIN_LIMIT = 10
PHONE_LIMIT = 10
WORKERS = 4


@pytest.fixture
def server(
    app: Flask, database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Gunicorn]:
    units.import_units(
        [{"code": "CT", "name_vi": "Xã thử", "name_en": "Test commune", "kind": "commune",
          "parent_code": ""}]
    )  # fmt: skip
    desks.create_desk("CT-1", "CT", "Quầy 1")
    questionnaires.load_folder(Path(app.config["QUESTIONNAIRE_DIR"]))
    accounts.create_user("victim", PASSWORD, Role.LEADER)
    accounts.create_user("colleague", PASSWORD, Role.LEADER)
    db.session.commit()
    db.session.remove()
    for engine in db.engines.values():
        engine.dispose()
    for name, value in {
        "TRUSTED_PROXIES": "1",
        "RATELIMIT_LOGIN": f"{LOGIN_LIMIT} per minute",
        "RATELIMIT_LOGIN_ADDRESS": "1000 per minute",
        "RATELIMIT_SUBMIT_PHONE": f"{PHONE_LIMIT} per minute",
    }.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("RATELIMIT_STORAGE_URI", raising=False)  # the default: survey-sql://
    instance = tmp_path / "served"
    instance.mkdir()
    served = Gunicorn(database_url, instance, tmp_path / "gunicorn.log", workers=WORKERS)
    yield served
    served.stop()


def exchange(
    port: int, method: str, path: str, address: str, body: bytes = b"", **headers: str
) -> tuple[int, str, str]:
    """One request on its own connection (so gunicorn hands it to any worker):
    the status, the body and the session cookie set, if any."""
    connection = http.client.HTTPConnection(HOST, port, timeout=30)
    try:
        # The proxy appends the address it saw: the client cannot choose it.
        headers["X-Forwarded-For"] = f"6.6.6.6, {address}"
        connection.request(method, path, body=body, headers=headers)
        reply = connection.getresponse()
        text = reply.read().decode()
        cookie = (reply.getheader("Set-Cookie") or "").split(";", 1)[0]
        return reply.status, text, cookie
    finally:
        connection.close()


def request(
    port: int, method: str, path: str, address: str, body: bytes = b"", **headers: str
) -> int:
    return exchange(port, method, path, address, body, **headers)[0]


def login_form(port: int, address: str) -> tuple[str, str]:
    """The login page's CSRF token and the session cookie it belongs to."""
    status, page, cookie = exchange(port, "GET", "/auth/login", address)
    assert status == 200 and cookie.startswith("session=")
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page)
    assert token is not None, page
    return token.group(1), cookie


def login(port: int, username: str, password: str, address: str, form: tuple[str, str]) -> int:
    token, cookie = form
    fields = {"csrf_token": token, "username": username, "password": password}
    return request(
        port,
        "POST",
        "/auth/login",
        address,
        urllib.parse.urlencode(fields).encode(),
        **{"Content-Type": "application/x-www-form-urlencoded", "Cookie": cookie},
    )


def submit(port: int, address: str, channel: str, token: str | None = None) -> int:
    payload = {
        "id": str(uuid.uuid4()),
        "desk": "CT-1",
        "questionnaire": {"slug": "kiosk_quick", "version": 1},
        "answers": {"mood": 5},
        "channel": channel,
        "lang": "vi",
        "submitted_at": datetime.now(UTC).isoformat(),
    }
    headers = {"Content-Type": "application/json"}
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    return request(
        port, "POST", "/api/v1/responses", address, json.dumps(payload).encode(), **headers
    )


def in_parallel(count: int, call: object) -> list[int]:
    """``call()`` ``count`` times from 8 threads at once; the statuses."""
    statuses: list[int] = []
    lock = threading.Lock()
    remaining = iter(range(count))

    def worker() -> None:
        while True:
            with lock:
                if next(remaining, None) is None:
                    return
            status = call()  # type: ignore[operator]
            with lock:
                statuses.append(status)

    run_in_threads(worker, 8)
    return statuses


def count(database_url: str, query: object) -> int:
    engine = create_engine(database_url)
    try:
        with engine.connect() as connection:
            return int(connection.execute(query).scalar_one())  # type: ignore[call-overload]
    finally:
        engine.dispose()


def test_limits_hold_across_workers_behind_a_proxy(server: Gunicorn, database_url: str) -> None:
    port = server.port
    # 1. 40 wrong passwords at one account, in parallel: exactly LOGIN_LIMIT evaluated.
    form = login_form(port, "203.0.113.10")
    statuses = in_parallel(40, lambda: login(port, "victim", "wrong guess", "203.0.113.10", form))
    assert sorted(statuses) == [200] * LOGIN_LIMIT + [429] * (40 - LOGIN_LIMIT)
    failed = select(func.count()).where(
        AuditLog.action == "login.failed", AuditLog.username == "victim"
    )
    assert count(database_url, failed) == LOGIN_LIMIT
    # 2. Another account behind the same address is not locked out.
    assert login(port, "colleague", PASSWORD, "203.0.113.10", form) == 302

    # 3. 120 wrong bearer tokens from one address use up nobody's phone quota.
    bad = in_parallel(120, lambda: submit(port, "203.0.113.66", "kiosk", "not-a-token"))
    assert set(bad) <= {401, 429} and bad.count(401) == PHONE_LIMIT
    # 80 citizens, each from their own address, each answer accepted.
    citizens = [f"198.51.{i // 200}.{i % 200 + 1}" for i in range(80)]
    lock = threading.Lock()
    queue = iter(citizens)

    def next_citizen() -> int:
        with lock:
            address = next(queue)
        return submit(port, address, "phone")

    assert in_parallel(80, next_citizen) == [201] * 80
    # One address (one phone) is held to its own PHONE_LIMIT, across all workers.
    one = in_parallel(30, lambda: submit(port, "198.51.100.250", "phone"))
    assert sorted(one) == [201] * PHONE_LIMIT + [429] * (30 - PHONE_LIMIT)
    assert count(database_url, select(func.count()).select_from(Response)) == 80 + PHONE_LIMIT
