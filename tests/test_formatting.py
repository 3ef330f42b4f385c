"""Numbers, percentages and dates the reader's way (survey_app.formatting, Babel)."""

from __future__ import annotations

from datetime import UTC, date, datetime

from flask import Flask
from flask_babel import force_locale

from survey_app import formatting


def test_vietnamese_and_english_forms(app: Flask) -> None:
    with force_locale("vi"):
        assert formatting.number(44606) == "44.606"
        assert formatting.number(36.8) == "36,8"
        assert formatting.number(2.0, digits=1) == "2,0"
        assert formatting.percent(0.78) == "78,0%"
        assert formatting.day(date(2026, 12, 2)) == "02/12/2026"
        assert formatting.moment(datetime(2026, 12, 2, 14, 5, tzinfo=UTC)).startswith("02/12/2026")
        assert formatting.value(1.1503413532275302) == "1,1503"
        assert formatting.value(None) == "—" and formatting.value(True) == "có"
        assert formatting.value("2026-12-02") == "02/12/2026"
        assert formatting.value([1200, 3]) == "1.200, 3"
    with force_locale("en"):
        assert formatting.number(44606) == "44,606"
        assert formatting.percent(0.78) == "78.0%"
        assert formatting.day(date(2026, 12, 2)) == "Dec 2, 2026"
        assert formatting.value(False) == "no"


def test_the_template_filters_use_it(app: Flask) -> None:
    with app.test_request_context("/?lang=vi"), force_locale("vi"):
        rendered = app.jinja_env.from_string(
            "{{ 44606|number }} {{ 0.78|pct }} {{ d|date_short }} {{ none|value }}"
        ).render(d=date(2026, 12, 2), none=None)
    assert rendered == "44.606 78,0% 02/12/2026 —"
