"""Sessions end: a copied session cookie stops working after logout, a password change,
a password reset by an administrator and deactivation (``users.session_version``)."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from flask import Flask
from flask.testing import FlaskClient

from survey_app.admin import accounts
from survey_app.extensions import db
from survey_app.models import Role, User
from tests.helpers.databases import IsolatedClient

PASSWORD = "a-long-test-password"
NEW_PASSWORD = "another-long-password"


def logged_in(app: Flask, username: str, password: str = PASSWORD) -> FlaskClient:
    app.test_client_class = IsolatedClient  # each request in its own app context
    client = app.test_client()
    response = client.post("/auth/login", data={"username": username, "password": password})
    assert response.status_code == 302, response.get_data(as_text=True)
    return client


def copy_of(app: Flask, client: FlaskClient) -> FlaskClient:
    """Another browser holding a copy of ``client``'s session cookie."""
    cookie = client.get_cookie("session")
    assert cookie is not None
    thief = app.test_client()
    thief.set_cookie("session", cookie.value)
    return thief


def is_refused(client: FlaskClient) -> bool:
    page = client.get("/dashboard/")
    api = client.get("/api/v1/indices?unit=X&wave=Y")
    return (
        page.status_code == 302
        and "/auth/login" in page.headers["Location"]
        and api.status_code == 401
    )


def _logout(app: Flask, victim: FlaskClient) -> None:
    assert victim.post("/auth/logout").status_code == 302


def _change_password(app: Flask, victim: FlaskClient) -> None:
    form = {"current": PASSWORD, "password": NEW_PASSWORD, "confirm": NEW_PASSWORD}
    response = victim.post("/auth/password", data=form)
    assert response.status_code == 302
    # The session that changed the password stays logged in with the new version.
    assert victim.get("/dashboard/").status_code == 200


def _admin_reset(app: Flask, victim: FlaskClient) -> None:
    admin = logged_in(app, "root")
    target = db.session.scalar(db.select(User).where(User.username == "victim"))
    assert target is not None
    form = {"password": NEW_PASSWORD, "confirm": NEW_PASSWORD}
    assert admin.post(f"/admin/users/{target.id}/password", data=form).status_code == 302


def _deactivate(app: Flask, victim: FlaskClient) -> None:
    admin = logged_in(app, "root")
    target = db.session.scalar(db.select(User).where(User.username == "victim"))
    assert target is not None
    assert admin.post(f"/admin/users/{target.id}/active", data={"active": "0"}).status_code == 302


@pytest.mark.parametrize(
    "event",
    [_logout, _change_password, _admin_reset, _deactivate],
    ids=["logout", "password-change", "admin-reset", "deactivation"],
)
def test_a_copied_cookie_is_refused_after(
    app: Flask, event: Callable[[Flask, FlaskClient], None]
) -> None:
    accounts.create_user("root", PASSWORD, Role.ADMIN)
    accounts.create_user("victim", PASSWORD, Role.LEADER)
    victim = logged_in(app, "victim")
    thief = copy_of(app, victim)
    assert thief.get("/dashboard/").status_code == 200  # the copy works until the event
    event(app, victim)
    assert is_refused(thief)
    db.session.rollback()
    version = db.session.scalar(db.select(User.session_version).where(User.username == "victim"))
    assert version == 1


def test_logout_ends_the_sessions_of_every_device(app: Flask) -> None:
    accounts.create_user("victim", PASSWORD, Role.LEADER)
    phone, laptop = logged_in(app, "victim"), logged_in(app, "victim")
    phone.post("/auth/logout")
    assert is_refused(laptop)
    assert logged_in(app, "victim").get("/dashboard/").status_code == 200


def test_a_wrong_current_password_changes_nothing(app: Flask) -> None:
    accounts.create_user("victim", PASSWORD, Role.LEADER)
    victim = logged_in(app, "victim")
    thief = copy_of(app, victim)
    form = {"current": "not-the-password", "password": NEW_PASSWORD, "confirm": NEW_PASSWORD}
    response = victim.post("/auth/password", data=form)
    assert response.status_code == 200
    assert "Mật khẩu hiện tại không đúng." in response.get_data(as_text=True)
    assert thief.get("/dashboard/").status_code == 200
    assert accounts.authenticate("victim", PASSWORD) is not None


def test_an_admin_resetting_their_own_password_stays_logged_in(app: Flask) -> None:
    root = accounts.create_user("root", PASSWORD, Role.ADMIN)
    admin = logged_in(app, "root")
    thief = copy_of(app, admin)
    form = {"password": NEW_PASSWORD, "confirm": NEW_PASSWORD}
    assert admin.post(f"/admin/users/{root.id}/password", data=form).status_code == 302
    assert admin.get("/admin/users/").status_code == 200
    assert is_refused(thief)


@pytest.mark.parametrize("forged", ["1", "1:x", "x:0", "1:-1", "1:0:0", "", "١:0"])
def test_a_session_id_in_another_form_is_refused(app: Flask, forged: str) -> None:
    accounts.create_user("victim", PASSWORD, Role.LEADER)
    client = app.test_client()
    with client.session_transaction() as session:
        session["_user_id"] = forged
        session["_fresh"] = True
    assert is_refused(client)
