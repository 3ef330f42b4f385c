"""Public pages, the language switch, error pages and the login flow (test client)."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

import pytest
from flask import Flask, url_for
from flask.testing import FlaskClient
from sqlalchemy import select

from survey_app import static_files
from survey_app.admin import accounts, units
from survey_app.extensions import db
from survey_app.models import AuditLog, Role

PASSWORD = "correct-horse-battery"


def text_of(response: object) -> str:
    return response.get_data(as_text=True)  # type: ignore[attr-defined]


def test_home_is_vietnamese_by_default(client: FlaskClient) -> None:
    page = text_of(client.get("/"))
    assert '<html lang="vi">' in page
    assert "Khảo sát sự hài lòng của người dân" in page
    assert "Đánh giá bằng điện thoại" in page
    assert 'href="/?lang=en"' in page


def test_static_files_are_named_by_content_and_cached_for_a_year(
    app: Flask, client: FlaskClient, tmp_path: Path
) -> None:
    """Each page names its stylesheets and scripts with their content's digest; such an
    address is cached for a year, one without it is asked again each time."""
    page = text_of(client.get("/auth/login"))
    named = dict(re.findall(r'"/static/([^"?]+)\?v=([0-9a-f]{12})"', page))
    assert {"css/app.css", "css/forms.css", "js/files.js"} <= set(named)
    folder = Path(app.static_folder or "")
    for name, digest in named.items():
        assert hashlib.sha256((folder / name).read_bytes()).hexdigest()[:12] == digest
        with client.get(f"/static/{name}?v={digest}") as kept:
            assert kept.status_code == 200 and kept.cache_control.max_age == 365 * 24 * 3600
        with client.get(f"/static/{name}") as asked:
            assert asked.status_code == 200 and asked.cache_control.no_cache
    # A changed file has another address; a missing one gets none (and answers 404).
    (tmp_path / "a.css").write_text("a {}", encoding="utf-8")
    first = static_files.version(str(tmp_path), "a.css")
    (tmp_path / "a.css").write_text("a { color: red }", encoding="utf-8")
    assert first and static_files.version(str(tmp_path), "a.css") not in (None, first)
    assert static_files.version(str(tmp_path), "missing.css") is None
    assert static_files.version(str(tmp_path), "../a.css") is None
    with app.test_request_context():
        assert url_for("static", filename="no/such.css") == "/static/no/such.css"


def test_language_switch_sticks_for_the_session(client: FlaskClient) -> None:
    english = text_of(client.get("/?lang=en"))
    assert '<html lang="en">' in english and "Rate a service on your phone" in english
    assert "Choose your desk" in text_of(client.get("/s/"))
    back = text_of(client.get("/?lang=vi"))
    assert "Đánh giá bằng điện thoại" in back


def test_unknown_language_falls_back_to_vietnamese(client: FlaskClient) -> None:
    assert '<html lang="vi">' in text_of(client.get("/?lang=fr"))


@pytest.mark.parametrize("path", ["/", "/kiosk/", "/s/", "/auth/login"])
def test_every_public_page_has_the_language_switch(client: FlaskClient, path: str) -> None:
    page = text_of(client.get(path))
    assert 'class="lang-switch"' in page and "Tiếng Việt" in page and "English" in page


def test_not_found_page_in_the_users_language(client: FlaskClient) -> None:
    response = client.get("/no-such-page")
    assert response.status_code == 404
    assert "Trang bạn yêu cầu không tồn tại." in text_of(response)
    english = client.get("/no-such-page?lang=en")
    assert "The page you asked for does not exist." in text_of(english)


def test_api_errors_are_json(client: FlaskClient) -> None:
    response = client.get("/api/v1/nothing-here")
    assert response.status_code == 404
    assert response.is_json
    assert response.get_json()["error"] == "not_found"


def test_unexpected_error_is_a_friendly_500(app: Flask, client: FlaskClient) -> None:
    @app.get("/boom")
    def boom() -> str:
        raise RuntimeError("kaboom")

    response = client.get("/boom")
    assert response.status_code == 500
    assert "kaboom" not in text_of(response)
    assert "Hệ thống gặp sự cố" in text_of(response)


def test_phone_entry_lists_active_desks(client: FlaskClient, app: Flask) -> None:
    from survey_app.collection import desks

    units.import_units([{"code": "C", "name_vi": "Xã Đông", "name_en": "East", "kind": "commune",
                         "parent_code": ""}])  # fmt: skip
    desks.create_desk("Q-C", "C", "Quầy xã Đông")
    page = text_of(client.get("/s/"))
    assert "Quầy xã Đông" in page and "Xã Đông" in page


def test_dashboard_requires_login(client: FlaskClient) -> None:
    response = client.get("/dashboard/")
    assert response.status_code == 302
    assert "/auth/login" in response.headers["Location"]


def test_login_and_logout_are_audited(client: FlaskClient) -> None:
    accounts.create_user("leader1", PASSWORD, Role.LEADER)
    wrong = client.post("/auth/login", data={"username": "leader1", "password": "nope"})
    assert "Sai tên đăng nhập hoặc mật khẩu." in text_of(wrong)
    ok = client.post("/auth/login", data={"username": "leader1", "password": PASSWORD})
    assert ok.status_code == 302 and ok.headers["Location"].endswith("/dashboard/")
    assert client.get("/dashboard/").status_code == 200
    client.post("/auth/logout")
    assert client.get("/dashboard/").status_code == 302
    actions = [entry.action for entry in db.session.scalars(select(AuditLog))]
    assert actions[-3:] == ["login.failed", "login", "logout"]


def test_login_redirect_only_to_same_site(client: FlaskClient) -> None:
    accounts.create_user("leader1", PASSWORD, Role.LEADER)
    evil = client.post(
        "/auth/login?next=https://evil.example/", data={"username": "leader1", "password": PASSWORD}
    )
    assert evil.headers["Location"].endswith("/dashboard/")


def test_kiosk_role_cannot_read_the_dashboard(client: FlaskClient) -> None:
    accounts.create_user("tablet", PASSWORD, Role.KIOSK)
    client.post("/auth/login", data={"username": "tablet", "password": PASSWORD})
    assert client.get("/dashboard/").status_code == 403


@pytest.mark.demo
def test_dashboard_shows_only_the_leaders_scope(client: FlaskClient) -> None:
    accounts.create_user("commune_leader", PASSWORD, Role.LEADER, "HM-QT")
    client.post("/auth/login", data={"username": "commune_leader", "password": PASSWORD})
    page = text_of(client.get("/dashboard/"))
    assert "Phường Quỳnh Thiện" in page
    assert "Phường Mai Hùng" not in page and "Sở Tư pháp" not in page


def test_login_form_has_csrf_protection(app: Flask, client: FlaskClient) -> None:
    app.config["WTF_CSRF_ENABLED"] = True
    accounts.create_user("leader1", PASSWORD, Role.LEADER)
    refused = client.post("/auth/login", data={"username": "leader1", "password": PASSWORD})
    assert refused.status_code == 400
    page = text_of(client.get("/auth/login"))
    assert 'name="csrf_token"' in page


EXPIRED_VI = "Trang này đã mở quá lâu hoặc phiên làm việc đã kết thúc"
EXPIRED_EN = "This page had been open too long, or its session had ended"


def test_a_form_sent_without_a_valid_token_goes_back_to_its_page_saying_why(
    app: Flask, client: FlaskClient
) -> None:
    """A token expires after an hour (or with its session): the form's page again, with
    the reason, not "Error 400: the request could not be understood"."""
    app.config["WTF_CSRF_ENABLED"] = True
    accounts.create_user("leader1", PASSWORD, Role.LEADER)
    form = {"csrf_token": "expired", "username": "leader1", "password": PASSWORD}
    back = client.post("/auth/login", data=form, headers={"Referer": "http://localhost/auth/login"})
    assert back.status_code == 303 and back.headers["Location"] == "/auth/login"
    page = text_of(client.get("/auth/login"))
    assert EXPIRED_VI in page and 'name="csrf_token"' in page
    client.get("/auth/login?lang=en")
    client.post("/auth/login", data=form, headers={"Referer": "http://localhost/auth/login"})
    assert EXPIRED_EN in text_of(client.get("/auth/login"))
    # Nothing was done: not logged in.
    assert client.get("/dashboard/").status_code == 302


@pytest.mark.parametrize("referrer", [None, "https://elsewhere.example/auth/login"])
def test_a_form_without_a_valid_token_from_no_page_of_ours_is_refused_saying_why(
    app: Flask, client: FlaskClient, referrer: str | None
) -> None:
    app.config["WTF_CSRF_ENABLED"] = True
    headers = {"Referer": referrer} if referrer else {}
    refused = client.post("/auth/login", data={"username": "x", "password": "y"}, headers=headers)
    assert refused.status_code == 400 and "Location" not in refused.headers
    assert EXPIRED_VI in text_of(refused)


@pytest.fixture
def rate_limited(app_config: dict[str, object]) -> None:
    app_config["RATELIMIT_ENABLED"] = True


def test_login_is_rate_limited(rate_limited: None, client: FlaskClient) -> None:
    codes = [
        client.post("/auth/login", data={"username": "x", "password": "y"}).status_code
        for _ in range(12)
    ]
    assert codes[:10] == [200] * 10
    assert codes[10:] == [429, 429]
