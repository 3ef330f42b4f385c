"""The desk poster warns when its QR code would carry a local address (issue 16)."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from survey_app.admin import accounts
from survey_app.models import Role
from survey_app.public_address import host_of, is_local

WARNING = "Chưa đặt PUBLIC_BASE_URL"


@pytest.mark.parametrize(
    ("netloc", "local"),
    [
        ("127.0.0.1:5000", True),
        ("localhost:5000", True),
        ("10.1.2.3", True),
        ("192.168.1.20:8000", True),
        ("172.16.0.9", True),
        ("[::1]:5000", True),
        ("[fe80::1]", True),
        ("0.0.0.0:5000", True),
        ("printer.local", True),
        ("intranet", True),
        ("khaosat.nghean.gov.vn", False),
        ("8.8.8.8", False),
        ("[2001:4860:4860::8888]:443", False),
    ],
)
def test_local_addresses(netloc: str, local: bool) -> None:
    assert is_local(host_of(netloc)) is local


@pytest.mark.demo
def test_the_poster_warns_about_a_local_address_until_public_base_url_is_set(
    app: Flask, client: FlaskClient
) -> None:
    admin = accounts.create_user("poster_admin", "poster-admin-password", Role.ADMIN)

    def poster(base_url: str) -> Any:
        browser = app.test_client()
        with browser.session_transaction(base_url=base_url) as session:
            session["_user_id"], session["_fresh"] = admin.get_id(), True
        return browser.get("/admin/desks/Q-HM-MH/poster", base_url=base_url)

    local = poster("http://127.0.0.1:5000")
    page = local.get_data(as_text=True)
    assert local.status_code == 200 and WARNING in page and "127.0.0.1:5000" in page
    public = poster("https://khaosat.nghean.gov.vn")
    assert public.status_code == 200 and WARNING not in public.get_data(as_text=True)
    app.config["PUBLIC_BASE_URL"] = "https://khaosat.nghean.gov.vn"
    text = poster("http://127.0.0.1:5000").get_data(as_text=True)
    assert WARNING not in text and "https://khaosat.nghean.gov.vn/s/Q-HM-MH" in text
