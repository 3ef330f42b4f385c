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


def test_index_figures_and_differences(app: Flask) -> None:
    """A rate as a percentage, a score as a number, a difference with its sign, a month:
    the dashboard, the scorecard, the alerts and the chart labels format through these."""
    with force_locale("vi"):
        assert formatting.index_value(0.772, "rate") == "77,2%"
        assert formatting.index_value(68.44, "score") == "68,4"
        assert formatting.index_value(float("nan"), "rate") == "—"
        assert formatting.signed(12.94) == "+12,9" and formatting.signed(-3.0) == "-3,0"
        assert formatting.signed(1234.5) == "+1.234,5"
        assert formatting.month(date(2026, 12, 2)) == "12/2026"
        assert formatting.interval(0.755, 0.802) == "75,5% – 80,2%"
        assert formatting.interval(68.44, 71.0, "score") == "68,4 – 71,0"
    with force_locale("en"):
        assert formatting.index_value(0.772, "rate") == "77.2%"
        assert formatting.signed(-0.04) == "-0.0" and formatting.signed(None) == "—"
        assert formatting.month(date(2026, 12, 2)) == "Dec 2026"


def test_the_template_filters_use_it(app: Flask) -> None:
    with app.test_request_context("/?lang=vi"), force_locale("vi"):
        rendered = app.jinja_env.from_string(
            "{{ 44606|number }} {{ 0.78|pct }} {{ d|date_short }} {{ none|value }}"
        ).render(d=date(2026, 12, 2), none=None)
    assert rendered == "44.606 78,0% 02/12/2026 —"
