"""Citizens' forms (issue 17), through the test client: the stable page count, Back
after sending, the per-desk dossier setting, the admin's desk settings page and the
desk search on /s/."""

from __future__ import annotations

import itertools
import re
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from survey_app.admin import units
from survey_app.collection import desks, phone
from survey_app.collection import questionnaire as spec
from survey_app.extensions import db
from survey_app.models import AuditLog, Desk, Role
from tests.helpers.kiosk_phone import definition, kiosk_config, login, make_desk, stored, text_of


@pytest.fixture
def desk(app: Flask) -> Desk:
    return make_desk(app)


def counts_along(q: spec.Questionnaire, walk: list[tuple[str, Any]]) -> set[int]:
    """The page counts shown while the answers of ``walk`` are given one by one."""
    answers: dict[str, Any] = {}
    seen = {phone.page_count(q, answers)}
    for code, value in walk:
        answers[code] = value
        seen.add(phone.page_count(q, answers))
    return seen


def test_the_page_count_never_changes_on_any_branch(app: Flask, desk: Desk) -> None:
    q = definition("kiosk_quick")
    for mood, fu in itertools.product(range(1, 6), (None, 3)):
        reason = ("problems", ["cho_lau"]) if mood <= 3 else ("positives", ["nhanh"])
        walk = [("mood", mood), reason] + ([("fu_wait", fu)] if fu else [])
        assert counts_along(q, walk) == {3}, (mood, fu)
    # The question count the kiosk shows follows the same rule (5 questions).
    items = phone.most_shown(q, {}, len)
    assert items == 5 and phone.most_shown(q, {"mood": 2}, len) == 5
    # Before this change the count came from the pages shown so far: 2, then 3.
    assert len(phone.pages(q, {})) == 2 and len(phone.pages(q, {"mood": 4})) == 3


def test_the_count_keeps_to_a_real_maximum_on_the_sipas_form(app: Flask, desk: Desk) -> None:
    q = definition("sipas")
    total = phone.page_count(q, {})
    assert 1 <= total <= len(q.sections)
    # Any answers given keep the count at most the first one (never a larger total).
    for item in q.items[:6]:
        options = [o.code for o in item.options] or [len(item.levels) or 1]
        assert phone.page_count(q, {item.code: options[0]}) <= total


def test_back_after_sending_starts_a_fresh_form(client: FlaskClient, desk: Desk) -> None:
    client.post("/s/Q-C", data={"step": "rating", "mood": "4"})
    client.post("/s/Q-C", data={"step": "reasons", "positives": "nhanh"})
    last = client.get("/s/Q-C?step=follow_up")
    assert last.headers["Cache-Control"] == "no-store"
    sent = client.post("/s/Q-C", data={"step": "follow_up", "fu_wait": "5"})
    assert sent.status_code == 302 and sent.headers["Location"].endswith("/s/Q-C/thanks")
    assert len(stored()) == 1
    # Back: the browser asks for the last page again; a fresh form starts on page 1.
    back = client.get("/s/Q-C?step=follow_up")
    assert back.status_code == 302 and back.headers["Location"].endswith("/s/Q-C")
    first = text_of(client.get("/s/Q-C"))
    assert "Trang 1/3" in first and "checked" not in first
    assert "Vui lòng trả lời câu hỏi này" not in first
    # A stale last page posted again after sending is not a confusing error either.
    client.post("/s/Q-C", data={"step": "rating", "mood": "2"})
    client.post("/s/Q-C", data={"step": "reasons"})
    client.post("/s/Q-C", data={"step": "follow_up"})
    stale = client.post("/s/Q-C", data={"step": "follow_up", "fu_wait": "5"})
    assert stale.status_code == 302 and stale.headers["Location"].endswith("/s/Q-C")
    assert len(stored()) == 2
    # A link to a later page without having sent anything still opens it.
    assert client.get("/s/Q-C?step=follow_up").status_code == 200


def test_the_dossier_question_follows_the_desk(client: FlaskClient, desk: Desk) -> None:
    assert desk.dossier_codes is True and desk.dossier_on_kiosk is False
    client.post("/s/Q-C", data={"step": "rating", "mood": "4"})
    client.post("/s/Q-C", data={"step": "reasons"})
    assert 'name="dossier"' in text_of(client.get("/s/Q-C?step=follow_up"))
    desk.dossier_codes = False
    db.session.commit()
    assert 'name="dossier"' not in text_of(client.get("/s/Q-C?step=follow_up"))
    # A dossier posted anyway is not used while the desk does not ask for it.
    client.post("/s/Q-C", data={"step": "follow_up", "dossier": "HS-1"})
    [row] = stored()
    assert row.dossier_hash is None
    # The kiosk asks only when both settings are on.
    desk.dossier_codes = desk.dossier_on_kiosk = desk.read_aloud_auto = True
    db.session.commit()
    settings = kiosk_config(text_of(client.get("/kiosk/Q-C")))["settings"]
    assert settings == {"dossier": True, "read_aloud_auto": True}


def audit(action: str) -> list[AuditLog]:
    return list(db.session.scalars(select(AuditLog).where(AuditLog.action == action)))


def test_the_admin_edits_a_desks_citizen_settings(client: FlaskClient, desk: Desk) -> None:
    assert client.get("/admin/desks/Q-C/citizens").status_code in (302, 401, 403)
    login(client, Role.ADMIN)
    page = text_of(client.get("/admin/desks/Q-C/citizens"))
    assert "Hỏi mã hồ sơ trên điện thoại" in page
    assert re.search(r'<input[^>]* checked id="dossier_codes"', page)
    assert not re.search(r'<input[^>]* checked id="dossier_on_kiosk"', page)
    assert "Đăng ký máy tính bảng" in page  # enrolment (QR code and link) from here
    assert "/admin/desks/Q-C/citizens" in text_of(client.get("/admin/desks/"))
    saved = client.post(
        "/admin/desks/Q-C/citizens", data={"dossier_on_kiosk": "y", "read_aloud_auto": "y"}
    )
    assert saved.status_code == 302
    db.session.refresh(desk)
    assert (desk.dossier_codes, desk.dossier_on_kiosk, desk.read_aloud_auto) == (
        False,
        True,
        True,
    )
    [entry] = audit("desk.citizen_settings")
    assert entry.target == "desk:Q-C"
    assert entry.details == {
        "dossier_codes": False,
        "dossier_on_kiosk": True,
        "read_aloud_auto": True,
    }
    # Saving the same values again records nothing.
    client.post("/admin/desks/Q-C/citizens", data={"dossier_on_kiosk": "y", "read_aloud_auto": "y"})
    assert len(audit("desk.citizen_settings")) == 1
    enrol = client.post("/admin/desks/Q-C/enrol")
    assert enrol.status_code == 200 and "#token=" in text_of(enrol) and "<svg" in text_of(enrol)
    assert client.get("/admin/desks/NOPE/citizens").status_code == 404


def test_kiosk_entry_shows_no_command(client: FlaskClient) -> None:
    page = text_of(client.get("/kiosk/"))
    assert "Máy đánh giá này chưa sẵn sàng" in page
    assert "flask" not in page and "MÃ_QUẦY" not in page and "DESK_CODE" not in page


def test_desks_can_be_searched_by_desk_or_commune_name(
    app: Flask, client: FlaskClient, desk: Desk
) -> None:
    units.import_units([{"code": "W", "name_vi": "Phường Hòa Bình", "name_en": "Hoa Binh ward",
                         "kind": "commune", "parent_code": ""}])  # fmt: skip
    desks.create_desk("Q-W", "W", "Quầy tiếp nhận phường")
    everything = text_of(client.get("/s/"))
    assert 'href="/s/Q-C"' in everything and 'href="/s/Q-W"' in everything
    assert 'role="search"' in everything
    for query in ("hoa binh", "Hòa Bình", "PHƯỜNG", "tiep nhan"):
        page = text_of(client.get("/s/", query_string={"q": query}))
        assert 'href="/s/Q-W"' in page and 'href="/s/Q-C"' not in page, query
    page = text_of(client.get("/s/", query_string={"q": "xa dong"}))
    assert 'href="/s/Q-C"' in page and 'href="/s/Q-W"' not in page
    assert "1 trong số 2 quầy" in page
    none = text_of(client.get("/s/", query_string={"q": "không có quầy này"}))
    assert "Không có quầy nào phù hợp." in none and 'href="/s/"' in none
    assert re.search(r'value="không có quầy này"', none)
    assert client.get("/s/", query_string={"q": "x" * 5000}).status_code == 200
