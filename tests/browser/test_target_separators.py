"""Weighting targets written the Vietnamese way, in Chromium (issue 16).

An analyst's spreadsheet writes thirty-six thousand eight hundred as "36.800". The
console reads it as 36800 (the saved weights add up to 36,800 people, not 36.8), shows
the totals it read the reader's way ("36.800" on the Vietnamese page, "36,800" on the
English one), and refuses "36,800", which means 36800 in English and 36.8 in
Vietnamese, with both readings. The wave is the demo's December 2018 Hoàng Mai survey
(480 responses; ``tests/helpers/weights_console.py``).
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from flask import Flask
from playwright.sync_api import Page, expect
from sqlalchemy import func, select

from survey_app.extensions import db
from survey_app.models import ResponseWeight, WeightingScheme
from survey_app.weighting.sample import load_sample
from tests.helpers.weights_console import WAVE, csv_bytes, field_wave, log_in, margins, seed, upload

pytestmark = [pytest.mark.browser, pytest.mark.demo]

TOTAL = 36_800


def vietnamese(value: int) -> str:
    """36800 -> "36.800" (a point between groups of three digits)."""
    return f"{value:,}".replace(",", ".")


def whole_targets(app: Flask, total: int) -> list[tuple[str, str, int]]:
    """Gender and age-group margins in whole people, each adding up to ``total``."""
    with app.app_context():
        rows = margins(load_sample(field_wave()), ["gender", "age_group"], total)
        db.session.remove()
    out: list[tuple[str, str, int]] = []
    for name in ("gender", "age_group"):
        mine = [(n, level, round(t)) for n, level, t in rows if n == name]
        last = mine[-1]
        mine[-1] = (name, last[1], last[2] + total - sum(t for _n, _l, t in mine))
        out += mine
    return out


def targets_file(rows: list[tuple[str, str, int]]) -> bytes:
    return csv_bytes(["variable", "level", "target"], [(n, lv, vietnamese(t)) for n, lv, t in rows])


def saved_total(app: Flask) -> tuple[int, float]:
    with app.app_context():
        schemes = db.session.scalar(select(func.count()).select_from(WeightingScheme)) or 0
        total = db.session.scalar(select(func.sum(ResponseWeight.weight))) or 0.0
        db.session.remove()
    return schemes, float(total)


def test_vietnamese_thousands_are_read_as_thousands(
    live_server: Any, live_app: Flask, page: Page
) -> None:
    seed(live_app)
    rows = whole_targets(live_app, TOTAL)
    body = targets_file(rows)
    assert b"36.800" not in body and any(b"." in line for line in body.splitlines()[1:])
    errors = log_in(page, live_server.url)
    page.goto(f"{live_server.url}/analyst/weights/{WAVE}/")
    upload(page, body, "muc_tieu.csv")
    page.get_by_role("button", name="Xem trước").click()
    expect(page.get_by_role("heading", name="Xem trước (chưa lưu)")).to_be_visible()
    # 36,800 people over 480 respondents: weights of tens (a decimal comma), and no
    # warning that a respondent would stand for less than one person.
    median = page.locator('#diagnostics dd[data-key="weight_median"]')
    expect(median).to_have_text(re.compile(r"^\d{2},\d+$"))
    expect(page.locator("#preview")).not_to_contain_text("ít hơn một người")
    page.locator("#name").fill("Dân số 36.800")
    page.get_by_role("button", name="Lưu phương án").click()
    expect(page.get_by_role("status")).to_contain_text("Đã lưu phương án")
    schemes, total = saved_total(live_app)
    assert schemes == 1 and total == pytest.approx(TOTAL, rel=1e-9)

    # Totals that disagree are refused, each shown as it was read, the reader's way.
    uneven = [(n, lv, t if n == "gender" else t * 30_000 // TOTAL) for n, lv, t in rows]
    upload(page, targets_file(uneven), "lech.csv")
    page.get_by_role("button", name="Xem trước").click()
    alert = page.locator("#row-errors")
    age_total = sum(t for n, _lv, t in uneven if n == "age_group")
    expect(alert).to_contain_text(f"gender: 36.800; age_group: {vietnamese(age_total)}")
    page.get_by_role("link", name="English").click()
    upload(page, targets_file(uneven), "uneven.csv")
    page.get_by_role("button", name="Preview").click()
    expect(page.locator("#row-errors")).to_contain_text(f"gender: 36,800; age_group: {age_total:,}")
    assert saved_total(live_app)[0] == 1
    assert errors == []


@pytest.mark.same_on_every_database("lang", "preview", "readings")
@pytest.mark.parametrize(
    ("lang", "preview", "readings"),
    [
        ("vi", "Xem trước", ["“36,800” có thể hiểu theo hai cách: 36800", "hoặc 36,8"]),
        ("en", "Preview", ["“36,800” can be read two ways: 36800", "or 36.8 (decimal comma)"]),
    ],
)
def test_an_ambiguous_comma_is_refused_with_both_readings(
    live_server: Any, live_app: Flask, page: Page, lang: str, preview: str, readings: list[str]
) -> None:
    seed(live_app)
    rows = whole_targets(live_app, TOTAL)
    body = csv_bytes(
        ["variable", "level", "target"],
        [(n, lv, "36,800" if k == 0 else vietnamese(t)) for k, (n, lv, t) in enumerate(rows)],
    )
    errors = log_in(page, live_server.url)
    page.goto(f"{live_server.url}/analyst/weights/{WAVE}/?lang={lang}")
    upload(page, body, "targets.csv")
    page.get_by_role("button", name=preview).click()
    first = page.locator("#row-errors tbody tr").first
    expect(first.locator("td").first).to_have_text("2")  # the file's second row
    for reading in readings:
        expect(first).to_contain_text(reading)
    expect(page.locator("#preview")).to_have_count(0)
    assert saved_total(live_app)[0] == 0
    assert errors == []
