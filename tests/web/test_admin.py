"""Administrators' pages: units, desks, questionnaires, users, the audit log, and the
account security settings (cookies, login rate limit)."""

from __future__ import annotations

import io
import re
import shutil
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from survey_app.admin import accounts, units
from survey_app.collection import desks, questionnaires
from survey_app.extensions import db
from survey_app.models import AuditLog, Desk, Questionnaire, Role, Unit, User

PASSWORD = "correct-horse-battery"

UNITS = [
    ("P", "Tỉnh Thử", "Test province", "province", ""),
    ("D", "Huyện Đông", "East district", "district", "P"),
    ("C1", "Xã Một", "Commune one", "commune", "D"),
    ("C2", "Xã Hai", "Commune two", "commune", "D"),
    ("D2", "Huyện Tây", "West district", "district", "P"),
    ("C3", "Xã Ba", "Commune three", "commune", "D2"),
]


def text_of(response: Any) -> str:
    return response.get_data(as_text=True)


@pytest.fixture
def hierarchy(app: Flask) -> None:
    units.import_units(
        dict(zip(("code", "name_vi", "name_en", "kind", "parent_code"), row, strict=True))
        for row in UNITS
    )
    desks.create_desk("Q-C1", "C1", "Quầy xã Một")
    desks.create_desk("Q-C3", "C3", "Quầy xã Ba")


def login(
    client: FlaskClient, username: str, role: Role = Role.ADMIN, unit: str | None = None
) -> User:
    user = accounts.create_user(username, PASSWORD, role, unit)
    response = client.post("/auth/login", data={"username": username, "password": PASSWORD})
    assert response.status_code == 302, text_of(response)
    return user


def actions() -> list[tuple[str, str | None, str | None]]:
    entries = db.session.scalars(select(AuditLog).order_by(AuditLog.id))
    return [(e.action, e.username, e.target) for e in entries]


def unit(code: str) -> Unit:
    found = db.session.scalar(select(Unit).where(Unit.code == code))
    assert found is not None
    return found


# ------------------------------------------------------------------------ access


@pytest.mark.parametrize(
    "path",
    ["/admin/", "/admin/units/", "/admin/users/", "/admin/audit/", "/admin/questionnaires/"],
)
def test_admin_pages_need_an_admin(client: FlaskClient, path: str) -> None:
    response = client.get(path)
    assert response.status_code == 302 and "/auth/login" in response.headers["Location"]
    login(client, "lead", Role.LEADER)
    assert client.get(path).status_code == 403
    client.post("/auth/logout")
    login(client, "ana", Role.ANALYST)
    assert client.get(path).status_code == 403


def test_nav_link_only_for_admins(client: FlaskClient) -> None:
    login(client, "lead", Role.LEADER)
    assert 'href="/admin/"' not in text_of(client.get("/dashboard/"))
    client.post("/auth/logout")
    login(client, "root")
    page = text_of(client.get("/admin/"))
    assert 'href="/admin/"' in page and "Quản trị" in page
    assert 'class="lang-switch"' in page


# ------------------------------------------------------------------------- units


@pytest.mark.usefixtures("hierarchy")
def test_units_are_listed_as_a_tree(client: FlaskClient) -> None:
    login(client, "root")
    page = text_of(client.get("/admin/units/"))
    order = [page.index(f"<code>{code}</code>") for code in ("P", "D", "C1", "C2", "D2", "C3")]
    assert order == sorted(order)
    assert 'class="depth-2">Xã Một' in page


@pytest.mark.usefixtures("hierarchy")
def test_create_and_edit_a_unit(client: FlaskClient) -> None:
    login(client, "root")
    form = {"code": "C4", "name_vi": "Xã Bốn", "name_en": "Commune four", "kind": "commune",
            "parent": "D"}  # fmt: skip
    response = client.post("/admin/units/new", data=form)
    assert response.status_code == 302
    c4 = unit("C4")
    assert c4.path == unit("D").path + f"{c4.id}/"
    # Move it to the other district: its path follows.
    form |= {"name_vi": "Xã Bốn Mới", "parent": "D2"}
    assert client.post("/admin/units/C4/edit", data=form).status_code == 302
    db.session.expire_all()
    assert unit("C4").path.startswith(unit("D2").path) and unit("C4").name_vi == "Xã Bốn Mới"
    assert ("unit.create", "root", "unit:C4") in actions()
    assert ("unit.update", "root", "unit:C4") in actions()


@pytest.mark.usefixtures("hierarchy")
def test_a_unit_cannot_move_below_itself(client: FlaskClient) -> None:
    login(client, "root")
    form = {"code": "D", "name_vi": "Huyện Đông", "name_en": "East district",
            "kind": "district", "parent": "C1"}  # fmt: skip
    page = text_of(client.post("/admin/units/D/edit", data=form))
    assert "Không thể chuyển một đơn vị xuống dưới chính nó." in page
    db.session.expire_all()
    assert unit("D").parent_id == unit("P").id


@pytest.mark.usefixtures("hierarchy")
def test_duplicate_unit_code_is_refused(client: FlaskClient) -> None:
    login(client, "root")
    form = {"code": "C1", "name_vi": "X", "name_en": "X", "kind": "commune", "parent": "D"}
    page = text_of(client.post("/admin/units/new", data=form))
    assert "Đã có đơn vị với mã này." in page


def post_csv(client: FlaskClient, text: str) -> Any:
    data = {"file": (io.BytesIO(text.encode("utf-8")), "units.csv")}
    return client.post("/admin/units/import", data=data, content_type="multipart/form-data")


@pytest.mark.usefixtures("hierarchy")
def test_import_shows_row_errors_and_stores_nothing(client: FlaskClient) -> None:
    login(client, "root")
    bad = (
        "code,name_vi,name_en,kind,parent_code\n"
        "C5,Xã Năm,Commune five,commune,D\n"
        "C6,,Commune six,village,NOPE\n"
    )
    response = post_csv(client, bad)
    assert response.status_code == 422
    page = text_of(response)
    assert "Không nhập gì cả." in page
    for column in ("name_vi", "kind", "parent_code"):
        assert f'<td class="num">3</td><td><code>{column}</code>' in page
    assert db.session.scalar(select(Unit).where(Unit.code == "C5")) is None
    good = "code,name_vi,name_en,kind,parent_code\nC5,Xã Năm,Commune five,commune,D\n"
    response = post_csv(client, good)
    assert response.status_code == 302
    assert unit("C5").path.startswith(unit("D").path)
    assert "units.import" in [a for a, _, _ in actions()]


@pytest.mark.usefixtures("hierarchy")
def test_import_reads_a_semicolon_windows_1258_file_from_vietnamese_excel(
    client: FlaskClient,
) -> None:
    login(client, "root")
    sheet = "code;name_vi;name_en;kind;parent_code\nC7;Xã Quỳnh Hội;Quynh Hoi;commune;D\n"
    # as Excel on Vietnamese Windows saves it: â ơ ư precomposed, tone marks combining
    raw = (sheet.replace("ỳ", "y\u0300").replace("ộ", "ô\u0323").replace("ã", "a\u0303")).encode(
        "cp1258"
    )
    with pytest.raises(UnicodeDecodeError):
        raw.decode("utf-8")
    data = {"file": (io.BytesIO(raw), "units.csv")}
    response = client.post("/admin/units/import", data=data, content_type="multipart/form-data")
    assert response.status_code == 302
    assert unit("C7").name_vi == "Xã Quỳnh Hội" and unit("C7").path.startswith(unit("D").path)


# ---------------------------------------------------------------- scoped admin


@pytest.mark.usefixtures("hierarchy")
def test_a_scoped_admin_manages_only_within_the_scope(client: FlaskClient) -> None:
    login(client, "district_admin", Role.ADMIN, "D")
    page = text_of(client.get("/admin/units/"))
    assert "Xã Một" in page and "Xã Hai" in page
    assert "Xã Ba" not in page and "Huyện Tây" not in page
    assert client.get("/admin/units/C3/edit").status_code == 404
    assert client.get("/admin/units/D2/edit").status_code == 404
    # No top-level unit, and no unit under a parent outside the scope.
    for parent in ("", "D2"):
        form = {"code": "X", "name_vi": "X", "name_en": "X", "kind": "commune", "parent": parent}
        client.post("/admin/units/new", data=form)
        assert db.session.scalar(select(Unit).where(Unit.code == "X")) is None
    # The scope's own unit keeps its parent; its name may change.
    form = {"code": "D", "name_vi": "Huyện Đông Mới", "name_en": "East", "kind": "district",
            "parent": "P"}  # fmt: skip
    assert client.post("/admin/units/D/edit", data=form).status_code == 302
    # Import touching a unit outside the scope is refused whole.
    csv_text = (
        "code,name_vi,name_en,kind,parent_code\n"
        "C7,Xã Bảy,Commune seven,commune,D\n"
        "C3,Xã Ba,Commune three,commune,D2\n"
    )
    response = post_csv(client, csv_text)
    assert response.status_code == 422
    assert db.session.scalar(select(Unit).where(Unit.code == "C7")) is None
    # Desks and users outside the scope do not exist for this admin.
    assert client.get("/admin/desks/Q-C3/edit").status_code == 404
    assert client.post("/admin/desks/Q-C3/active", data={"active": "0"}).status_code == 404
    assert "Q-C3" not in text_of(client.get("/admin/desks/"))


@pytest.mark.usefixtures("hierarchy")
def test_a_scoped_admin_sees_and_creates_users_only_within_scope(client: FlaskClient) -> None:
    other = accounts.create_user("west_leader", PASSWORD, Role.LEADER, "C3")
    root = accounts.create_user("root", PASSWORD, Role.ADMIN)
    login(client, "district_admin", Role.ADMIN, "D")
    page = text_of(client.get("/admin/users/"))
    assert "district_admin" in page and "west_leader" not in page and ">root<" not in page
    assert client.get(f"/admin/users/{other.id}/password").status_code == 404
    assert client.post(f"/admin/users/{root.id}/active", data={"active": "0"}).status_code == 404
    base = {"password": PASSWORD, "confirm": PASSWORD, "role": "leader"}
    client.post("/admin/users/new", data=base | {"username": "sneaky", "unit": "C3"})
    client.post("/admin/users/new", data=base | {"username": "sneaky2", "unit": ""})
    assert db.session.scalar(select(User).where(User.username.like("sneaky%"))) is None
    assert (
        client.post("/admin/users/new", data=base | {"username": "ok", "unit": "C1"}).status_code
        == 302
    )


@pytest.mark.usefixtures("hierarchy")
def test_an_account_without_a_unit_is_said_to_see_every_unit(client: FlaskClient) -> None:
    """An account without a unit sees every unit of the installation (the demo holds two
    provinces), but the users page and the form called it "whole province"."""
    accounts.create_user("second_province", PASSWORD, Role.LEADER, "C3")
    login(client, "root_admin")
    page = text_of(client.get("/admin/users/"))
    row = re.search(r"<tr>\s*<td>root_admin</td>(.*?)</tr>", page, re.S)
    assert row is not None and "Mọi đơn vị" in row.group(1)
    assert "Toàn tỉnh" not in page and "toàn tỉnh" not in page
    form = text_of(client.get("/admin/users/new"))
    assert '<option value="">(mọi đơn vị: không giới hạn phạm vi)</option>' in form


# ------------------------------------------------------------------------- desks


@pytest.mark.usefixtures("hierarchy")
def test_create_edit_and_deactivate_a_desk(client: FlaskClient) -> None:
    login(client, "root")
    form = {"code": "Q-C2", "name": "Quầy xã Hai", "unit": "C2", "timeout": "90"}
    assert client.post("/admin/desks/new", data=form).status_code == 302
    listing = text_of(client.get("/admin/desks/"))
    assert "Quầy xã Hai" in listing and 'href="/admin/desks/Q-C2/edit"' in listing
    edit = text_of(client.get("/admin/desks/Q-C2/edit"))
    assert 'href="/admin/desks/Q-C2/poster"' in edit and 'action="/admin/desks/Q-C2/enrol"' in edit
    form |= {"name": "Quầy một cửa xã Hai", "unit": "C1", "timeout": "120"}
    assert client.post("/admin/desks/Q-C2/edit", data=form).status_code == 302
    desk = desks.get_desk("Q-C2")
    assert (desk.name, desk.unit.code, desk.inactivity_timeout_s) == (
        "Quầy một cửa xã Hai", "C1", 120
    )  # fmt: skip
    assert client.post("/admin/desks/Q-C2/active", data={"active": "0"}).status_code == 302
    db.session.expire_all()
    assert not desks.get_desk("Q-C2").active
    assert client.get("/s/Q-C2").status_code == 404
    assert [a for a, _, t in actions() if t == "desk:Q-C2"] == [
        "desk.create", "desk.update", "desk.deactivate"
    ]  # fmt: skip


@pytest.mark.usefixtures("hierarchy")
def test_desk_form_errors(client: FlaskClient) -> None:
    login(client, "root")
    form = {"code": "Q-C1", "name": "x", "unit": "C1", "timeout": "60"}
    page = text_of(client.post("/admin/desks/new", data=form))
    assert "Đã có quầy với mã này." in page
    page = text_of(client.post("/admin/desks/new", data=form | {"code": "Q-N", "timeout": "5"}))
    assert db.session.scalar(select(Desk).where(Desk.code == "Q-N")) is None
    assert "field-error" in page


# ---------------------------------------------------------------- questionnaires


def test_questionnaires_load_list_and_items(
    app: Flask, client: FlaskClient, tmp_path: Path
) -> None:
    folder = tmp_path / "q"
    shutil.copytree(app.config["QUESTIONNAIRE_DIR"], folder)
    app.config["QUESTIONNAIRE_DIR"] = str(folder)
    login(client, "root")
    assert "Chưa nạp bảng hỏi nào." in text_of(client.get("/admin/questionnaires/"))
    response = client.post("/admin/questionnaires/reload")
    assert response.status_code == 302
    row = questionnaires.latest("sipas")
    assert row is not None
    page = text_of(client.get("/admin/questionnaires/"))
    assert row.checksum[:12] in page and row.title_vi in page
    items = text_of(client.get(f"/admin/questionnaires/sipas/{row.version}"))
    assert row.checksum in items and row.items[0].code in items
    assert client.get("/admin/questionnaires/sipas/999").status_code == 404
    # A broken file: nothing is loaded and every problem is shown.
    (folder / "broken.yaml").write_text("slug: broken\nversion: one\n", encoding="utf-8")
    response = client.post("/admin/questionnaires/reload")
    assert response.status_code == 422
    page = text_of(response)
    assert "Không nạp gì cả." in page and "broken.yaml" in page
    assert db.session.scalar(select(func.count()).select_from(Questionnaire)) == 2
    logged = [a for a, _, _ in actions()]
    assert "questionnaire.loaded" in logged and "questionnaire.load_failed" in logged


@pytest.mark.usefixtures("hierarchy")
def test_only_a_province_admin_loads_questionnaires(client: FlaskClient) -> None:
    login(client, "district_admin", Role.ADMIN, "D")
    response = client.post("/admin/questionnaires/reload")
    assert response.status_code == 422
    assert db.session.scalar(select(func.count()).select_from(Questionnaire)) == 0


# ------------------------------------------------------------------------- users


@pytest.mark.usefixtures("hierarchy")
def test_create_user_reset_password_and_deactivate(client: FlaskClient, app: Flask) -> None:
    login(client, "root")
    form = {"username": "leader_c1", "role": "leader", "unit": "C1", "password": PASSWORD,
            "confirm": PASSWORD}  # fmt: skip
    assert client.post("/admin/users/new", data=form).status_code == 302
    user = db.session.scalar(select(User).where(User.username == "leader_c1"))
    assert user is not None and user.unit is not None and user.unit.code == "C1"
    assert user.role == Role.LEADER and user.password_hash.startswith("scrypt:")
    assert PASSWORD not in user.password_hash
    new_password = "another-long-secret"
    reset = {"password": new_password, "confirm": new_password}
    assert client.post(f"/admin/users/{user.id}/password", data=reset).status_code == 302
    assert accounts.authenticate("leader_c1", new_password) is not None
    assert client.post(f"/admin/users/{user.id}/active", data={"active": "0"}).status_code == 302
    assert accounts.authenticate("leader_c1", new_password) is None
    logged = [(a, who, target) for a, who, target in actions() if target == "user:leader_c1"]
    assert logged == [
        ("user.create", "root", "user:leader_c1"),
        ("user.password_reset", "root", "user:leader_c1"),
        ("user.deactivate", "root", "user:leader_c1"),
    ]


def test_an_unknown_or_inactive_user_costs_a_password_check(
    app: Flask, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A login with an unknown or inactive user name checks the password against a hash
    made by the method real passwords are hashed with (the same cost as a wrong
    password), and importing the module hashes nothing (it cost every process 90 ms)."""
    accounts.create_user("gone", PASSWORD, Role.LEADER).active = False
    db.session.commit()
    checked: list[str] = []
    real_check = accounts.check_password_hash
    monkeypatch.setattr(
        accounts, "check_password_hash", lambda h, p: checked.append(h) or real_check(h, p)
    )
    assert accounts.authenticate("nobody", PASSWORD) is None
    assert accounts.authenticate("gone", PASSWORD) is None
    assert len(checked) == 2 and checked[0] == checked[1]
    assert checked[0].startswith(accounts.PASSWORD_METHOD + "$")
    assert not real_check(checked[0], PASSWORD)
    script = (
        "import werkzeug.security as s\n"
        "def refuse(*a, **k): raise AssertionError('hashed at import')\n"
        "s.generate_password_hash = refuse\n"
        "import survey_app.admin.accounts\n"
    )
    subprocess.run(
        [sys.executable, "-c", script], check=True, cwd=Path(__file__).parents[2], timeout=120
    )


def test_user_form_errors(client: FlaskClient) -> None:
    me = login(client, "root")
    form = {"username": "x", "role": "leader", "unit": "", "password": "short", "confirm": "short"}
    assert "field-error" in text_of(client.post("/admin/users/new", data=form))
    form |= {"password": PASSWORD, "confirm": PASSWORD + "!"}
    assert "Hai mật khẩu không khớp." in text_of(client.post("/admin/users/new", data=form))
    form |= {"username": "root", "confirm": PASSWORD}
    assert "Tên đăng nhập này đã có người dùng." in text_of(
        client.post("/admin/users/new", data=form)
    )
    client.post(f"/admin/users/{me.id}/active", data={"active": "0"})
    db.session.expire_all()
    assert db.session.get(User, me.id).active  # type: ignore[union-attr]


def test_a_deactivated_user_is_logged_out(client: FlaskClient) -> None:
    victim = accounts.create_user("victim", PASSWORD, Role.LEADER)
    other = client.application.test_client()
    other.post("/auth/login", data={"username": "victim", "password": PASSWORD})
    assert other.get("/dashboard/").status_code == 200
    login(client, "root")
    client.post(f"/admin/users/{victim.id}/active", data={"active": "0"})
    assert other.get("/dashboard/").status_code == 302


# --------------------------------------------------------------------- audit log


def test_audit_log_filters_and_pages(client: FlaskClient) -> None:
    accounts.create_user("someone", PASSWORD, Role.LEADER)
    for _ in range(3):
        accounts.authenticate("someone", "wrong password")
    old = AuditLog(
        action="export.csv", username="someone", at=datetime.now(UTC) - timedelta(days=40)
    )
    db.session.add(old)
    db.session.commit()
    login(client, "root")
    page = text_of(client.get("/admin/audit/?action=login"))
    # Actions in words (the code in the cell's title), details without raw reprs.
    assert page.count('title="login.failed">Đăng nhập thất bại<') == 3
    assert 'title="login">Đăng nhập<' in page
    assert 'title="user.create"' not in page
    page = text_of(client.get("/admin/audit/?user=someone"))
    assert 'title="export.csv"' in page
    since = (datetime.now(UTC) - timedelta(days=2)).date().isoformat()
    page = text_of(client.get(f"/admin/audit/?user=someone&date_from={since}"))
    assert 'title="export.csv"' not in page and 'title="login.failed"' in page
    # The action filter offers every action found in the log (exports, imports, schemes).
    page = text_of(client.get("/admin/audit/"))
    assert '<option value="export.csv">' in page
    assert '<option value="login.failed">Đăng nhập thất bại</option>' in page
    assert "None" not in page and "True" not in page


def test_audit_details_are_in_words_with_numbers_formatted(client: FlaskClient) -> None:
    db.session.add(
        AuditLog(
            action="weighting.create",
            username="root",
            target="wave:HM-2018-12",
            details={"deff": 1.1503413532275302, "responses": 44606, "previous": None},
        )
    )
    db.session.commit()
    login(client, "root")
    page = text_of(client.get("/admin/audit/"))
    assert "Lưu phương án gia trọng" in page and "đợt khảo sát HM-2018-12" in page
    assert "hệ số thiết kế của trọng số: 1,1503" in page
    assert "số phiếu: 44.606" in page and "phương án trước: —" in page
    english = text_of(client.get("/admin/audit/?lang=en"))
    assert "Saved a weighting scheme" in english and "responses: 44,606" in english


def test_audit_log_is_paginated(client: FlaskClient) -> None:
    db.session.add_all(AuditLog(action="test.bulk", target=f"n:{i}") for i in range(120))
    db.session.commit()
    login(client, "root")
    first = text_of(client.get("/admin/audit/?action=test.bulk"))
    assert "Trang 1 / 3" in first and 'rel="next"' in first and "n:119" in first
    last = text_of(client.get("/admin/audit/?action=test.bulk&page=3"))
    assert "n:0<" in last and 'rel="prev"' in last and 'rel="next"' not in last


def test_actions_of_services_are_attributed_to_the_logged_in_user(
    app: Flask, client: FlaskClient
) -> None:
    """Scheme changes, imports and exports call audit.record without naming the actor."""
    from survey_app import audit

    @app.post("/_probe")
    def probe() -> str:
        audit.record("weights.scheme_activate", target="scheme:1")
        db.session.commit()
        return "ok"

    login(client, "root")
    client.post("/_probe")
    assert ("weights.scheme_activate", "root", "scheme:1") in actions()


# ------------------------------------------------------------- session security


def test_session_cookie_is_httponly_and_samesite(client: FlaskClient) -> None:
    login(client, "root")
    cookie = client.get_cookie("session")
    assert cookie is not None and cookie.http_only and cookie.same_site == "Lax"
    assert not cookie.secure


def test_session_cookie_is_secure_when_configured(
    app_config: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    from survey_app import create_app

    monkeypatch.setenv("SESSION_COOKIE_SECURE", "true")
    secure = create_app(app_config)
    with secure.app_context():
        accounts.create_user("root", PASSWORD, Role.ADMIN)
        response = secure.test_client().post(
            "/auth/login",
            data={"username": "root", "password": PASSWORD},
            base_url="https://localhost",
        )
        header = response.headers["Set-Cookie"]
        assert "Secure" in header and "HttpOnly" in header and "SameSite=Lax" in header
        db.session.remove()
        for engine in db.engines.values():  # the submissions engine too
            engine.dispose()


def test_login_is_rate_limited(app_config: dict[str, Any]) -> None:
    from survey_app import create_app

    app_config |= {"RATELIMIT_ENABLED": True, "RATELIMIT_LOGIN": "3 per minute"}
    limited = create_app(app_config)
    with limited.app_context():
        client = limited.test_client()
        codes = [
            client.post("/auth/login", data={"username": "x", "password": "y"}).status_code
            for _ in range(4)
        ]
        assert codes == [200, 200, 200, 429]
        db.session.remove()
        for engine in db.engines.values():  # the submissions engine too
            engine.dispose()
