"""The survey team's wave pages (``/analyst/waves/``) in headless Chromium, no demo.

A fresh province (units, the shipped questionnaires and one analyst, made through the
services) and an analyst who, in Vietnamese and then again in English (chosen with the
page's language switch): opens the page from the menu, sees it empty, creates a field
survey wave with a sample frame that has a single-PSU stratum (and is warned), a
second wave as a panel of the first, sends a form with a bad unit and a bad frame row
(refused, nothing stored), sets quarterly feedback periods for a commune and closes
the first wave. axe-core checks the list and detail pages (CSRF on, as in production).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from playwright.sync_api import Locator, Page, expect
from sqlalchemy import select

from survey_app.admin import accounts, units
from survey_app.collection import questionnaires
from survey_app.extensions import db
from survey_app.models import Role, Wave
from tests.helpers.browser import assert_accessible

pytestmark = pytest.mark.browser

PASSWORD = "correct-horse-battery"
UNITS_CSV = """code,name_vi,name_en,kind,parent_code
NA,Tỉnh Nghệ An,Nghe An province,province,
HM,Thị xã Hoàng Mai,Hoang Mai town,district,NA
HM-QL,Phường Quỳnh Lộc,Quynh Loc ward,commune,HM
HM-QT,Xã Quỳnh Trang,Quynh Trang commune,commune,HM
"""
# Stratum HM-QT has a single sampled PSU: the page must warn about it.
FRAME_CSV = """stratum,psu,unit_code,stratum_psus
HM-QL,QL-T1,HM-QL,12
HM-QL,QL-T2,HM-QL,12
HM-QT,QT-T1,HM-QT,9
"""
# Row 3 (the header is row 1) has no PSU.
BAD_FRAME_CSV = "stratum,psu,unit_code\nHM-QL,QL-T1,HM-QL\nHM-QL,,HM-QL\n"


@dataclass(frozen=True)
class Words:
    """What the pages say in one language (the Vietnamese from the message catalogue)."""

    lang: str
    main_menu: str
    rounds: str
    empty: str
    new_wave: str
    code: str
    name_vi: str
    name_en: str
    questionnaire: str
    unit: str
    start: str
    end: str
    lonely_psu: str
    panel_of: str
    frame: str
    no_panel: str
    create: str
    created: str
    single_psu: str
    status: str
    design: str
    unit_covered: str
    open: str
    closed: str
    independent_design: str
    panel_design: str
    sample_frame: str
    no_frame: str
    nothing_saved: str
    bad_unit: str
    bad_row: str
    periods: str
    period_unit: str
    period: str
    quarterly: str
    no_rule: str
    save_rule: str
    rule_saved: str
    close: str
    closed_flash: str
    first_name: str
    second_name: str
    town: str
    commune: str
    ward: str


VI = Words(
    lang="vi",
    main_menu="Menu chính",
    rounds="Đợt khảo sát",
    empty=(
        "Chưa có đợt nào. Hãy tạo đợt khảo sát thực địa đầu tiên ở dưới; kỳ phản hồi sẽ "
        "xuất hiện khi có câu trả lời đầu tiên từ kiosk hoặc điện thoại."
    ),
    new_wave="Đợt khảo sát thực địa mới",
    code="Mã",
    name_vi="Tên tiếng Việt",
    name_en="Tên tiếng Anh",
    questionnaire="Bảng hỏi",
    unit="Đơn vị khảo sát (mã)",
    start="Ngày bắt đầu khảo sát",
    end="Ngày kết thúc khảo sát",
    lonely_psu="Tầng chỉ có một PSU",
    panel_of="Khảo sát lặp (panel) của đợt trước",
    frame="Dàn mẫu (CSV, tối đa 2 MB và 20.000 dòng)",
    no_panel="Không: mẫu độc lập",
    create="Tạo đợt khảo sát",
    created="Đã tạo đợt khảo sát {code}.",
    single_psu="Tầng HM-QT chỉ có một PSU: phương sai tính theo quy tắc PSU đơn lẻ của đợt.",
    status="Trạng thái",
    design="Thiết kế mẫu",
    unit_covered="Đơn vị khảo sát",
    open="Đang mở",
    closed="Đã đóng",
    independent_design="PSU đơn lẻ: average; mẫu độc lập; dàn mẫu 3 PSU",
    panel_design="PSU đơn lẻ: adjust; lặp lại đợt HM-2025",
    sample_frame="Dàn mẫu",
    no_frame="Chưa tải lên dàn mẫu.",
    nothing_saved="Chưa lưu gì: có {n} lỗi.",
    bad_unit="Không có đơn vị mã NOPE trong phạm vi của bạn.",
    bad_row="Dòng 3, cột psu: bị trống",
    periods="Kỳ phản hồi của kiosk và điện thoại",
    period_unit="Đơn vị (mã)",
    period="Kỳ",
    quarterly="Theo quý",
    no_rule="Chưa có quy tắc: chia theo tháng.",
    save_rule="Lưu quy tắc chia kỳ",
    rule_saved="Đã lưu cách chia kỳ phản hồi.",
    close="Đóng đợt khảo sát",
    closed_flash="Đã đóng đợt HM-2025: không nhận thêm câu trả lời.",
    first_name="Khảo sát hài lòng 2025",
    second_name="Khảo sát lặp tháng 12",
    town="Thị xã Hoàng Mai",
    commune="Xã Quỳnh Trang",
    ward="Phường Quỳnh Lộc",
)

EN = Words(
    lang="en",
    main_menu="Main menu",
    rounds="Survey rounds",
    empty=(
        "No wave yet. Create the first field survey below; feedback periods appear with "
        "the first kiosk or phone answer."
    ),
    new_wave="New field survey wave",
    code="Code",
    name_vi="Name in Vietnamese",
    name_en="Name in English",
    questionnaire="Questionnaire",
    unit="Unit covered (code)",
    start="First day of fieldwork",
    end="Last day of fieldwork",
    lonely_psu="A stratum with a single PSU",
    panel_of="Panel of an earlier wave",
    frame="Sample frame (CSV, at most 2 MB and 20,000 rows)",
    no_panel="No: an independent sample",
    create="Create the wave",
    created="Wave {code} created.",
    single_psu="Stratum HM-QT has a single PSU: its variance follows the wave's lonely-PSU rule.",
    status="Status",
    design="Design",
    unit_covered="Unit covered",
    open="Open",
    closed="Closed",
    independent_design="Lonely PSU: average; independent sample; frame of 3 PSUs",
    panel_design="Lonely PSU: adjust; panel of HM-2025",
    sample_frame="Sample frame",
    no_frame="No sample frame uploaded.",
    nothing_saved="Nothing was saved: {n} problems.",
    bad_unit="No unit with code NOPE in your scope.",
    bad_row="Row 3, column psu: is empty",
    periods="Feedback periods of kiosks and phones",
    period_unit="Unit (code)",
    period="Period",
    quarterly="Quarterly",
    no_rule="No rule yet: monthly periods.",
    save_rule="Save the period rule",
    rule_saved="Feedback periods saved.",
    close="Close the wave",
    closed_flash="Wave HM-2025 closed: no more answers are accepted.",
    first_name="Satisfaction survey 2025",
    second_name="December panel round",
    town="Hoang Mai town",
    commune="Quynh Trang commune",
    ward="Quynh Loc ward",
)


def seed(app: Flask) -> str:
    """Units, the shipped questionnaires and analyst ``ana``; returns SIPAS's select value."""
    with app.app_context():
        units.import_units(units.read_units_csv(UNITS_CSV))
        questionnaires.load_folder(Path(app.config["QUESTIONNAIRE_DIR"]))
        sipas = f"sipas:{questionnaires.latest('sipas').version}"
        accounts.create_user("ana", PASSWORD, Role.ANALYST)
        db.session.remove()
    return sipas


def stored_waves(app: Flask) -> dict[str, tuple[str, str, str | None, int]]:
    """Code → (status, lonely-PSU rule, code of the earlier wave of a panel, frame PSUs)."""
    with app.app_context():
        result = {
            wave.code: (
                wave.status.value,
                wave.lonely_psu.value,
                wave.panel_of.code if wave.panel_of else None,
                len(wave.frame),
            )
            for wave in db.session.scalars(select(Wave))
        }
        db.session.remove()
    return result


def log_in(page: Page, url: str) -> None:
    page.goto(url + "/auth/login")
    page.get_by_label("Tên đăng nhập").fill("ana")
    page.get_by_label("Mật khẩu").fill(PASSWORD)
    page.get_by_role("button", name="Đăng nhập").click()
    expect(page).to_have_url(url + "/dashboard/")


def fact(page: Page, term: str) -> Locator:
    """The value of a term of the detail page's facts."""
    return page.locator("dl.facts dt", has_text=term).locator("xpath=following-sibling::dd[1]")


def fill_wave_form(
    page: Page, w: Words, *, code: str, name: str, questionnaire: str, unit: str,
    start: str, end: str, lonely_psu: str | None, panel_of: str | None,
    frame: str | None,
) -> None:  # fmt: skip
    """Fill the new-wave form through its labels; ``panel_of=None`` chooses "no"."""
    form = page.get_by_role("region", name=w.new_wave)
    form.get_by_label(w.code, exact=True).fill(code)
    form.get_by_label(w.name_vi, exact=True).fill(name if w.lang == "vi" else f"Đợt {code}")
    form.get_by_label(w.name_en, exact=True).fill(name if w.lang == "en" else "")
    form.get_by_label(w.questionnaire, exact=True).select_option(questionnaire)
    form.get_by_label(w.unit, exact=True).fill(unit)
    form.get_by_label(w.start, exact=True).fill(start)
    form.get_by_label(w.end, exact=True).fill(end)
    if lonely_psu is not None:
        form.get_by_label(w.lonely_psu, exact=True).select_option(lonely_psu)
    panel = form.get_by_label(w.panel_of, exact=True)
    if panel_of is None:
        panel.select_option(label=w.no_panel)
    else:
        panel.select_option(panel_of)
    if frame is not None:
        form.get_by_label(w.frame, exact=True).set_input_files(
            files=[{"name": "dan-mau.csv", "mimeType": "text/csv", "buffer": frame.encode()}]
        )
    form.get_by_role("button", name=w.create).click()


@pytest.mark.same_on_every_database("w")
@pytest.mark.parametrize("w", [VI, EN], ids=["vi", "en"])
def test_the_survey_team_walks_the_wave_pages(
    live_server: Any, live_app: Flask, page: Page, w: Words
) -> None:
    sipas = seed(live_app)
    base = live_server.url
    log_in(page, base)
    if w.lang == "en":
        page.get_by_role("navigation", name="Ngôn ngữ").get_by_role("link", name="English").click()
        expect(page.locator("html")).to_have_attribute("lang", "en")
    page.get_by_role("navigation", name=w.main_menu).get_by_role(
        "link", name=w.rounds, exact=True
    ).click()

    # The empty list.
    expect(page).to_have_url(base + "/analyst/waves/")
    expect(page.get_by_role("heading", level=1)).to_have_text(w.rounds)
    listing = page.locator("table#waves")
    expect(listing.get_by_role("row")).to_have_count(2)  # the header and the empty state
    expect(listing.get_by_role("row").nth(1)).to_have_text(w.empty)
    creation = page.get_by_role("region", name=w.new_wave)
    expect(creation.get_by_role("heading", level=2)).to_have_text(w.new_wave)
    expect(page.locator("table#series")).to_contain_text(w.no_rule)
    assert_accessible(page)

    # A field survey wave with a sample frame whose stratum HM-QT has a single PSU.
    fill_wave_form(
        page, w, code="HM-2025", name=w.first_name, questionnaire=sipas, unit="HM",
        start="2025-05-01", end="2025-05-31", lonely_psu="average", panel_of=None,
        frame=FRAME_CSV,
    )  # fmt: skip
    expect(page).to_have_url(base + "/analyst/waves/HM-2025")
    expect(page.get_by_role("heading", level=1)).to_have_text(f"{w.first_name} HM-2025")
    expect(page.locator(".flash-success")).to_have_text(w.created.format(code="HM-2025"))
    expect(page.locator(".flash-warning")).to_have_text([w.single_psu])
    expect(fact(page, w.status)).to_have_text(w.open)
    expect(fact(page, w.unit_covered)).to_have_text(w.town)
    expect(fact(page, w.design)).to_have_text(w.independent_design)
    frame = page.get_by_role("region", name=w.sample_frame).get_by_role("table")
    expect(frame.get_by_role("row")).to_have_count(4)
    expect(frame.get_by_role("row", name="QT-T1").get_by_role("cell")).to_have_text(
        ["HM-QT", "QT-T1", w.commune, "9"]
    )
    assert stored_waves(live_app) == {"HM-2025": ("open", "average", None, 3)}
    assert_accessible(page)

    # A second wave, a panel of the first, without a frame yet.
    page.get_by_role("main").get_by_role("link", name=w.rounds).click()
    expect(page).to_have_url(base + "/analyst/waves/")
    fill_wave_form(
        page, w, code="HM-2025-12", name=w.second_name, questionnaire=sipas, unit="HM",
        start="2025-12-01", end="2025-12-20", lonely_psu=None, panel_of="HM-2025", frame=None,
    )  # fmt: skip
    expect(page).to_have_url(base + "/analyst/waves/HM-2025-12")
    expect(page.locator(".flash-success")).to_have_text(w.created.format(code="HM-2025-12"))
    expect(page.locator(".flash-warning")).to_have_count(0)
    expect(fact(page, w.design)).to_have_text(w.panel_design)
    expect(page.get_by_role("region", name=w.sample_frame)).to_contain_text(w.no_frame)
    page.get_by_role("main").get_by_role("link", name=w.rounds).click()
    rows = listing.get_by_role("row")
    expect(rows).to_have_count(3)  # newest first
    expect(rows.nth(1)).to_contain_text(w.second_name)
    expect(rows.nth(1)).to_contain_text(w.panel_design)
    expect(rows.nth(2)).to_contain_text(w.first_name)
    expect(rows.nth(2)).to_contain_text(w.independent_design)

    # A bad unit and a frame row without a PSU: refused, nothing stored, the form kept.
    fill_wave_form(
        page, w, code="HM-2026", name="Đợt hỏng", questionnaire=sipas, unit="NOPE",
        start="2026-05-01", end="2026-05-31", lonely_psu=None, panel_of=None,
        frame=BAD_FRAME_CSV,
    )  # fmt: skip
    alert = page.get_by_role("alert")
    expect(alert.get_by_role("listitem")).to_contain_text([w.bad_row])
    expect(creation.get_by_label(w.code, exact=True)).to_have_value("HM-2026")
    expect(creation.get_by_label(w.unit, exact=True)).to_have_value("NOPE")
    expect(listing.get_by_role("row")).to_have_count(3)
    assert set(stored_waves(live_app)) == {"HM-2025", "HM-2025-12"}
    assert_accessible(page)

    # Quarterly feedback periods for Quỳnh Lộc's kiosks.
    periods = page.get_by_role("region", name=w.periods)
    periods.get_by_label(w.period_unit, exact=True).fill("HM-QL")
    periods.get_by_label(w.questionnaire, exact=True).select_option("kiosk_quick")
    periods.get_by_label(w.period, exact=True).select_option(label=w.quarterly)
    periods.get_by_role("button", name=w.save_rule).click()
    expect(page.locator(".flash-success")).to_have_text(w.rule_saved)
    series = page.locator("table#series").get_by_role("row")
    expect(series).to_have_count(2)
    expect(series.nth(1).get_by_role("cell")).to_have_text(
        [f"{w.ward} HM-QL", "kiosk_quick", w.quarterly]
    )

    # Closing the first wave.
    listing.get_by_role("link", name=w.first_name).click()
    expect(page).to_have_url(base + "/analyst/waves/HM-2025")
    page.get_by_role("button", name=w.close).click()
    expect(page.locator(".flash-success")).to_have_text(w.closed_flash)
    expect(fact(page, w.status)).to_have_text(w.closed)
    expect(page.get_by_role("button", name=w.close)).to_have_count(0)
    assert stored_waves(live_app)["HM-2025"][0] == "closed"
    page.get_by_role("main").get_by_role("link", name=w.rounds).click()
    expect(rows.nth(1).get_by_role("cell").nth(5)).to_have_text(w.open)
    expect(rows.nth(2).get_by_role("cell").nth(5)).to_have_text(w.closed)


def test_a_bad_unit_and_a_bad_frame_row_are_listed_together(
    live_server: Any, live_app: Flask, page: Page
) -> None:
    sipas = seed(live_app)
    log_in(page, live_server.url)
    page.goto(live_server.url + "/analyst/waves/")
    fill_wave_form(
        page, VI, code="HM-2026", name="Đợt hỏng", questionnaire=sipas, unit="NOPE",
        start="2026-05-01", end="2026-05-31", lonely_psu=None, panel_of=None,
        frame=BAD_FRAME_CSV,
    )  # fmt: skip
    alert = page.get_by_role("alert")
    expect(alert).to_be_visible()
    assert stored_waves(live_app) == {}
    # Read once the page is there (no waiting for a text that is not coming).
    assert sorted(alert.get_by_role("listitem").all_inner_texts()) == [VI.bad_row, VI.bad_unit]
    assert alert.get_by_role("heading").inner_text() == VI.nothing_saved.format(n=2)
