"""A leader sees a commune's small-area estimate, labelled, in Vietnamese and English.

On the demo's December 2018 Hoàng Mai survey with small-area figures switched on
(the first covariate the console offers: the previous wave's direct estimate), a
commune whose direct figure is hidden shows, in headless Chromium, the model's
estimate in the town's drill-down table and on its scorecard, each time labelled
"ước lượng theo mô hình diện hẹp" / "small-area model estimate"; axe-core finds no
serious or critical violation on either page.
"""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask
from playwright.sync_api import Page, expect

from survey_app.admin import accounts
from survey_app.extensions import db
from survey_app.models import Role
from tests.helpers.browser import assert_accessible
from tests.helpers.small_area import split, switch_on
from tests.helpers.small_area import wave as find_wave

pytestmark = [pytest.mark.browser, pytest.mark.demo]

PASSWORD = "correct-horse-battery"
WAVE = "HM-2018-12"


def prepare(live_app: Flask) -> tuple[str, str, str]:
    """Switch the model on; (town code, commune code, the estimate as 'xx.x')."""
    with live_app.app_context():
        wave = find_wave(WAVE)
        fit = switch_on(wave)
        hidden, _shown = split(wave)
        chosen = next(u for u in hidden if fit.commune(u.id).reportable)
        town, value = wave.unit.code, f"{100 * fit.commune(chosen.id).eblup:.1f}"
        accounts.create_user("hm_leader", PASSWORD, Role.LEADER, town)
        code = chosen.code
        db.session.remove()
    return town, code, value


def test_a_leader_sees_the_small_area_estimate_labelled(
    live_server: Any, live_app: Flask, page: Page
) -> None:
    town, commune, value = prepare(live_app)
    page.goto(live_server.url + "/auth/login")
    page.get_by_label("Tên đăng nhập").fill("hm_leader")
    page.get_by_label("Mật khẩu").fill(PASSWORD)
    page.get_by_role("button", name="Đăng nhập").click()
    for lang, label, number in (
        ("vi", "ước lượng theo mô hình diện hẹp", value.replace(".", ",")),
        ("en", "small-area model estimate", value),
    ):
        page.goto(f"{live_server.url}/dashboard/unit/{town}?wave={WAVE}&lang={lang}")
        row = page.locator("tr", has=page.locator(f"a[href*='/dashboard/unit/{commune}']"))
        expect(row.first).to_contain_text(number)
        expect(page.get_by_text(label).first).to_be_visible()
        assert_accessible(page)
        page.goto(f"{live_server.url}/scorecard/{commune}/{WAVE}?lang={lang}")
        expect(page.locator("main")).to_contain_text(number)
        expect(page.get_by_text(label, exact=False).first).to_be_visible()
        assert_accessible(page)
