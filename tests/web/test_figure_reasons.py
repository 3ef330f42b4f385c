"""No figure disappears silently (issue 13): a figure that cannot be computed is shown
with its reason.

The demo's kiosk feedback wave, with its lonely-PSU rule set to "fail" (R's default)
and a desk that sent answers on a single day: that desk is a stratum with one PSU
(desk x day clusters), so the wave's index cannot be computed. The overview's kiosk
card must say so, with the stratum and the rule, instead of vanishing.
"""

from __future__ import annotations

import html

import pytest
from flask.testing import FlaskClient

from survey_app.admin import accounts
from survey_app.extensions import db
from survey_app.models import Role, Wave
from tests.helpers import kiosk_wave

pytestmark = pytest.mark.demo
PASSWORD = "a-long-test-password"


def one_day_desk_under_fail_rule() -> Wave:
    wave, _ward = kiosk_wave.one_day_desk_under_fail_rule()
    db.session.commit()
    return wave


def test_kiosk_card_says_why_it_has_no_figure(client: FlaskClient) -> None:
    wave = one_day_desk_under_fail_rule()
    accounts.create_user("town", PASSWORD, Role.LEADER, "NA-HM")
    client.post("/auth/login", data={"username": "town", "password": PASSWORD})
    response = client.get("/dashboard/")
    assert response.status_code == 200
    page = html.unescape(response.get_data(as_text=True))
    card = page[page.index(wave.name_vi) :]
    card = card[: card.index("</article>")]
    assert "Không tính được: " in card
    assert "Tầng Quầy mới chỉ có một PSU" in card and "'fail'" in card  # the desk, by name
    assert "Thị xã Hoàng Mai" in page and "75,5% – 80,2%" in page  # the field survey stays

    # The drill-down and the scorecard of that wave answer 422 with the reason
    # (not 500, not an empty page).
    scorecard = client.get(f"/scorecard/NA-HM/{wave.code}?lang=en")
    assert scorecard.status_code == 422
    assert "Cannot be computed: " in html.unescape(scorecard.get_data(as_text=True))
    unit_page = client.get(f"/dashboard/unit/NA-HM?wave={wave.code}&lang=vi")
    assert unit_page.status_code == 422
    assert "Không tính được: " in html.unescape(unit_page.get_data(as_text=True))


def test_ranking_page_gives_the_reason_not_a_wrong_one(client: FlaskClient) -> None:
    """The ranking page said "at least two units are needed" for any failure."""
    wave = one_day_desk_under_fail_rule()
    accounts.create_user("town", PASSWORD, Role.LEADER, "NA-HM")
    client.post("/auth/login", data={"username": "town", "password": PASSWORD})
    response = client.get(f"/dashboard/ranking?unit=NA-HM&wave={wave.code}&lang=vi")
    assert response.status_code == 200
    page = html.unescape(response.get_data(as_text=True))
    assert "Không tính được: " in page and "chỉ có một PSU" in page
    assert "Cần ít nhất hai đơn vị" not in page
