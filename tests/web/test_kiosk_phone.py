"""Kiosk page and enrolment check, phone form, desk posters and their permissions."""

from __future__ import annotations

import json
import re
import uuid
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from survey_app.collection import desks, questionnaires
from survey_app.collection import questionnaire as spec
from survey_app.extensions import db
from survey_app.models import Channel, Desk, Role
from tests.helpers.kiosk_phone import definition, kiosk_config, login, make_desk, stored, text_of


@pytest.fixture
def desk(app: Flask) -> Desk:
    return make_desk(app)


# ---------------------------------------------------------------- kiosk


def test_kiosk_page_embeds_questionnaire_and_strings(client: FlaskClient, desk: Desk) -> None:
    page = text_of(client.get("/kiosk/Q-C"))
    assert 'class="lang-switch"' in page and "Tiếng Việt" in page and "English" in page
    config = kiosk_config(page)
    assert config["desk"] == "Q-C"
    assert config["questionnaire"] == {"slug": "kiosk_quick", "version": 1}
    assert config["definition"]["sections"][0]["items"][0]["code"] == "mood"
    assert config["timeouts"]["idle"] == 45
    assert config["urls"]["api"] == "/api/v1/responses"
    assert config["strings"]["vi"]["send"] == "Gửi"
    assert config["strings"]["en"]["send"] == "Send"
    # The not-ready screen is in both languages, whatever the page language, and
    # shows citizens no command (enrolment is done from the admin's desk page).
    assert "Máy đánh giá này chưa sẵn sàng" in page
    assert "This kiosk is not ready yet" in page
    assert "flask desks" not in page
    assert config["settings"] == {"dossier": False, "read_aloud_auto": False}


def test_kiosk_page_has_no_inline_script_or_handler(client: FlaskClient, desk: Desk) -> None:
    page = text_of(client.get("/kiosk/Q-C"))
    for tag in re.findall(r"<script\b[^>]*>", page):
        assert "src=" in tag or 'type="application/json"' in tag, tag
    assert not re.search(r"\son[a-z]+\s*=", page), "inline event handler found"


def test_kiosk_questionnaire_follows_config(app: Flask, client: FlaskClient, desk: Desk) -> None:
    app.config["KIOSK_QUESTIONNAIRE"] = "sipas"
    assert kiosk_config(text_of(client.get("/kiosk/Q-C")))["questionnaire"]["slug"] == "sipas"


def test_unknown_or_inactive_desk_is_not_found(client: FlaskClient, desk: Desk) -> None:
    assert client.get("/kiosk/NOPE").status_code == 404
    assert client.get("/s/NOPE").status_code == 404
    desk.active = False
    db.session.commit()
    assert client.get("/kiosk/Q-C").status_code == 404
    assert client.get("/s/Q-C").status_code == 404


def test_test_timeouts_only_in_testing_mode(app: Flask, client: FlaskClient, desk: Desk) -> None:
    config = kiosk_config(text_of(client.get("/kiosk/Q-C?idle=2&thanks=1&retry=0.5")))
    assert config["timeouts"] == {"idle": 2, "thanks": 1, "retry": 0.5}
    app.testing = False
    config = kiosk_config(text_of(client.get("/kiosk/Q-C?idle=2&thanks=1&retry=0.5")))
    assert config["timeouts"] == {"idle": 45, "thanks": 6, "retry": 30}


def test_check_accepts_only_the_desks_current_token(client: FlaskClient, desk: Desk) -> None:
    make_desk_two = desks.create_desk("Q-D", "C", "Quầy hai")
    token = desks.issue_token("Q-C")
    other = desks.issue_token(make_desk_two.code)
    assert client.get("/kiosk/Q-C/check").status_code == 401
    bad = client.get("/kiosk/Q-C/check", headers={"Authorization": "Bearer wrong"})
    assert bad.status_code == 401 and bad.get_json()["ok"] is False
    assert (
        client.get("/kiosk/Q-C/check", headers={"Authorization": f"Bearer {other}"}).status_code
        == 401
    )
    good = client.get("/kiosk/Q-C/check", headers={"Authorization": f"Bearer {token}"})
    assert good.status_code == 200 and good.get_json() == {"ok": True, "desk": "Q-C"}
    desks.issue_token("Q-C")  # a new token disables the old one
    assert (
        client.get("/kiosk/Q-C/check", headers={"Authorization": f"Bearer {token}"}).status_code
        == 401
    )


def test_service_worker_is_served_for_the_kiosk_scope(client: FlaskClient) -> None:
    with client.get("/kiosk/sw.js") as response:
        assert response.status_code == 200
        assert response.mimetype == "text/javascript"
        assert response.headers["Service-Worker-Allowed"] == "/kiosk/"
        assert 'addEventListener("fetch"' in text_of(response)


def test_kiosk_static_assets_are_local(client: FlaskClient, desk: Desk) -> None:
    page = text_of(client.get("/kiosk/Q-C"))
    for url in re.findall(r'(?:src|href)="(/static/[^"#]+)', page):
        with client.get(url) as response:
            assert response.status_code == 200, url
    assert "http://" not in page and "https://" not in page


# ---------------------------------------------------------------- phone


def answer_for(item: spec.Item) -> str | list[str]:
    """A valid form value for an item (a satisfied level, the first option, ...)."""
    if item.type in ("likert5", "smiley"):
        return str(len(item.levels) - 1)
    if item.type == "single":
        return item.options[0].code
    if item.type == "multiple":
        return [item.options[0].code]
    if item.type == "number":
        return str(int(item.min_value or 1))
    return "Nhân viên nhiệt tình"


def walk_phone_form(client: FlaskClient, q: spec.Questionnaire, extra: dict | None = None) -> Any:
    """Answer every shown item page by page; return the last response."""
    response = client.get("/s/Q-C")
    for _page in range(len(q.sections) + 1):
        page = text_of(response)
        step = re.search(r'name="step" value="([^"]+)"', page)
        if step is None:
            return response
        section = next(s for s in q.sections if s.code == step.group(1))
        data: dict[str, Any] = {"step": section.code, "action": "next", **(extra or {})}
        for item in section.items:
            if f'name="{item.code}"' in page:
                data[item.code] = answer_for(item)
        response = client.post("/s/Q-C", data=data)
        if response.status_code == 302:
            response = client.get(response.headers["Location"])
    return response


def test_phone_form_first_page(client: FlaskClient, desk: Desk) -> None:
    page = text_of(client.get("/s/Q-C"))
    assert 'class="lang-switch"' in page
    assert "Ông/Bà hài lòng ở mức nào với việc giải quyết thủ tục hôm nay?" in page
    assert "Rất hài lòng" in page and "Trang 1/3" in page
    assert 'name="csrf_token"' in page
    english = text_of(client.get("/s/Q-C?lang=en"))
    assert "How satisfied are you with how your procedure was handled today?" in english


def test_phone_required_answer_is_asked_for(client: FlaskClient, desk: Desk) -> None:
    response = client.post("/s/Q-C", data={"step": "rating", "action": "next"})
    assert response.status_code == 422
    assert "Vui lòng trả lời câu hỏi này." in text_of(response)
    assert stored() == []


def test_phone_kiosk_quick_flow_stores_one_response(client: FlaskClient, desk: Desk) -> None:
    response = client.post("/s/Q-C", data={"step": "rating", "action": "next", "mood": "2"})
    assert response.status_code == 302 and "step=reasons" in response.headers["Location"]
    page = text_of(client.get(response.headers["Location"]))
    assert "Điều gì khiến Ông/Bà chưa hài lòng?" in page  # skip logic: mood 2
    assert "Điều gì khiến Ông/Bà hài lòng?" not in page
    client.post("/s/Q-C", data={"step": "reasons", "problems": ["cho_lau", "phi"]})
    done = client.post("/s/Q-C", data={"step": "follow_up", "fu_wait": "1"})
    assert done.status_code == 302 and done.headers["Location"].endswith("/s/Q-C/thanks")
    assert "Cảm ơn Ông/Bà!" in text_of(client.get(done.headers["Location"]))
    [row] = stored()
    assert row.channel is Channel.PHONE
    assert row.answers == {"mood": 2, "problems": ["cho_lau", "phi"], "fu_wait": 1}
    assert isinstance(row.client_id, uuid.UUID) and row.desk_id == desk.id
    # A new survey in the same session gets a new id.
    walk_phone_form(client, definition("kiosk_quick"))
    assert len({r.client_id for r in stored()}) == 2


def test_phone_back_keeps_answers_and_skip_logic_drops_hidden(
    client: FlaskClient, desk: Desk
) -> None:
    client.post("/s/Q-C", data={"step": "rating", "mood": "5"})
    client.post("/s/Q-C", data={"step": "reasons", "positives": ["nhanh"], "action": "back"})
    page = text_of(client.get("/s/Q-C?step=rating"))
    assert re.search(r'value="5" checked', page)
    client.post("/s/Q-C", data={"step": "rating", "mood": "1"})
    client.post("/s/Q-C", data={"step": "reasons"})
    client.post("/s/Q-C", data={"step": "follow_up"})
    [row] = stored()
    assert row.answers == {"mood": 1}  # the hidden "positives" answer was not sent


def test_phone_form_works_with_sipas(app: Flask, client: FlaskClient, desk: Desk) -> None:
    app.config["PHONE_QUESTIONNAIRE"] = "sipas"
    q = definition("sipas")
    first = text_of(client.get("/s/Q-C"))
    assert "Thủ tục hành chính Ông/Bà vừa giải quyết thuộc lĩnh vực nào?" in first
    last = walk_phone_form(client, q)
    assert "Cảm ơn Ông/Bà!" in text_of(last)
    [row] = stored()
    assert row.answers["acc1"] == 4 and row.questionnaire_id == questionnaires.latest("sipas").id  # type: ignore[union-attr]


def test_phone_number_answers_are_read_either_way(app: Flask) -> None:
    """A typed number is read by the rule of survey_app.numbers: "12.000" is Vietnamese
    for twelve thousand (out of range for the visits asked), not 12 as it was once
    read; an ambiguous "12,000" stays text, which validation refuses."""
    from werkzeug.datastructures import MultiDict

    from survey_app.collection.phone import parse_section

    q = spec.load_questionnaire(Path(__file__).resolve().parents[2] / "questionnaires/sipas.yaml")
    section = next(s for s in q.sections if any(i.code == "trips" for i in s.items))
    read = {
        typed: parse_section(section, MultiDict({"trips": typed}))["trips"]
        for typed in ("3", "3,0", " 12.000 ", "1,5", "12,000", "ba")
    }
    assert read == {"3": 3, "3,0": 3, " 12.000 ": 12000, "1,5": 1.5, "12,000": "12,000", "ba": "ba"}


def test_phone_comment_warns_against_personal_data(
    app: Flask, client: FlaskClient, desk: Desk
) -> None:
    app.config["PHONE_QUESTIONNAIRE"] = "sipas"
    page = text_of(client.get("/s/Q-C?step=overall"))
    assert "Không ghi họ tên, số điện thoại" in page or "số điện thoại" in page


def test_phone_dossier_is_asked_once_per_dossier(
    app: Flask, client: FlaskClient, desk: Desk
) -> None:
    q = definition("kiosk_quick")
    client.post("/s/Q-C", data={"step": "rating", "mood": "4"})
    client.post("/s/Q-C", data={"step": "reasons"})
    last_page = text_of(client.get("/s/Q-C?step=follow_up"))
    assert "Mã hồ sơ (không bắt buộc)" in last_page
    first = client.post("/s/Q-C", data={"step": "follow_up", "dossier": "HS-2024-001"})
    assert first.status_code == 302
    [row] = stored()
    assert row.dossier_hash and "HS-2024-001" not in json.dumps(row.answers)
    again = walk_phone_form(client, q, extra={"dossier": "hs-2024-001"})
    assert again.status_code == 409
    assert "Mã hồ sơ này đã được đánh giá" in text_of(again)
    assert len(stored()) == 1
    english = client.post("/s/Q-C?lang=en", data={"step": "follow_up", "dossier": "HS-2024-001"})
    assert "already been recorded" in text_of(english)


def test_phone_form_needs_the_csrf_token(app_config: dict[str, Any]) -> None:
    from survey_app import create_app

    app_config["WTF_CSRF_ENABLED"] = True
    application = create_app(app_config)
    with application.app_context():
        make_desk(application)
        client = application.test_client()
        assert client.post("/s/Q-C", data={"step": "rating", "mood": "4"}).status_code == 400
        page = text_of(client.get("/s/Q-C"))
        csrf = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)  # type: ignore[union-attr]
        ok = client.post("/s/Q-C", data={"csrf_token": csrf, "step": "rating", "mood": "4"})
        assert ok.status_code == 302
        db.session.remove()
        for engine in db.engines.values():  # the submissions engine too
            engine.dispose()


def test_an_expired_phone_page_comes_back_with_the_answers_before_it(
    app_config: dict[str, Any],
) -> None:
    """A citizen who leaves the form open past the token's hour: the page they sent
    comes back saying why, and the pages they had sent before keep their answers."""
    from survey_app import create_app

    app_config["WTF_CSRF_ENABLED"] = True
    application = create_app(app_config)
    with application.app_context():
        make_desk(application)
        client = application.test_client()
        page = text_of(client.get("/s/Q-C"))
        csrf = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)  # type: ignore[union-attr]
        first = client.post("/s/Q-C", data={"csrf_token": csrf, "step": "rating", "mood": "4"})
        second_page = first.headers["Location"]
        late = client.post(
            second_page,
            data={"csrf_token": "expired", "step": second_page.rsplit("=", 1)[-1]},
            headers={"Referer": f"http://localhost{second_page}"},
        )
        assert late.status_code == 303 and late.headers["Location"] == second_page
        again = text_of(client.get(second_page))
        assert "Trang này đã mở quá lâu" in again
        assert stored() == []
        rating = text_of(client.get("/s/Q-C?step=rating"))
        assert re.search(r'value="4"[^>]*checked', rating), "the first page's answer was lost"
        db.session.remove()
        for engine in db.engines.values():  # the submissions engine too
            engine.dispose()


def test_phone_entry_links_each_desk(client: FlaskClient, desk: Desk) -> None:
    assert 'href="/s/Q-C"' in text_of(client.get("/s/"))


# ---------------------------------------------------------------- admin: desks and posters


ADMIN_PAGES = ["/admin/desks/", "/admin/desks/Q-C/poster", "/admin/desks/Q-C/qr.png",
               "/admin/desks/Q-C/qr.svg"]  # fmt: skip


@pytest.mark.parametrize("path", ADMIN_PAGES)
def test_desk_admin_pages_need_login(client: FlaskClient, desk: Desk, path: str) -> None:
    response = client.get(path)
    assert response.status_code == 302 and "/auth/login" in response.headers["Location"]


@pytest.mark.parametrize("role", [Role.LEADER, Role.ANALYST, Role.KIOSK])
def test_desk_admin_pages_are_for_admins_only(client: FlaskClient, desk: Desk, role: Role) -> None:
    login(client, role)
    for path in ADMIN_PAGES:
        assert client.get(path).status_code == 403, path
    assert client.post("/admin/desks/Q-C/enrol").status_code == 403
    assert db.session.get(Desk, desk.id).token_hash is None  # type: ignore[union-attr]


def test_desk_list_links_posters(client: FlaskClient, desk: Desk) -> None:
    login(client, Role.ADMIN)
    page = text_of(client.get("/admin/desks/"))
    assert 'class="lang-switch"' in page
    assert "Quầy xã Đông" in page and 'href="/admin/desks/Q-C/poster"' in page
    assert "/admin/desks/Q-C/qr.png" in page and "http://localhost/s/Q-C" in page
    assert client.get("/admin/desks/NOPE/poster").status_code == 404


def test_poster_has_qr_of_the_phone_address(app: Flask, client: FlaskClient, desk: Desk) -> None:
    login(client, Role.ADMIN)
    page = text_of(client.get("/admin/desks/Q-C/poster"))
    assert "Quầy xã Đông" in page and "Xã Đông" in page and "East commune" in page
    assert "Quét mã QR bằng điện thoại" in page
    assert "Scan the QR code with your phone camera to rate the service." in page
    assert "<svg" in page and "http://localhost/s/Q-C" in page
    app.config["PUBLIC_BASE_URL"] = "https://khaosat.example.gov.vn"
    assert "https://khaosat.example.gov.vn/s/Q-C" in text_of(client.get("/admin/desks/Q-C/poster"))


def test_qr_downloads(client: FlaskClient, desk: Desk) -> None:
    login(client, Role.ADMIN)
    png = client.get("/admin/desks/Q-C/qr.png?download=1")
    assert png.mimetype == "image/png" and png.data.startswith(b"\x89PNG\r\n\x1a\n")
    assert "attachment" in png.headers["Content-Disposition"]
    svg = client.get("/admin/desks/Q-C/qr.svg")
    assert svg.mimetype == "image/svg+xml" and svg.data.startswith(b"<svg")


def test_enrolment_shows_a_new_token_once(client: FlaskClient, desk: Desk) -> None:
    login(client, Role.ADMIN)
    response = client.post("/admin/desks/Q-C/enrol")
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"
    page = text_of(response)
    token = re.search(r"/kiosk/Q-C#token=([A-Za-z0-9_-]+)", page).group(1)  # type: ignore[union-attr]
    assert desks.desk_for_token("Q-C", token) is not None
    assert "<svg" in page
    # The list never shows a token, only when one was issued.
    assert token not in text_of(client.get("/admin/desks/"))


def test_qr_png_is_well_formed() -> None:
    import struct
    import zlib

    from survey_app.admin import qr

    data = qr.png("https://example.org/s/Q-C", scale=3)
    width, height = struct.unpack(">II", data[16:24])
    size = len(qr.matrix("https://example.org/s/Q-C"))
    assert width == height == size * 3
    idat = data[data.index(b"IDAT") + 4 : data.index(b"IEND") - 8]
    assert len(zlib.decompress(idat)) == height * (1 + (width + 7) // 8)
