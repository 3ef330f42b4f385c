"""Numbers, percentages and dates the reader's way (survey_app.formatting, Babel)."""

from __future__ import annotations

from datetime import UTC, date, datetime

from flask import Flask
from flask_babel import force_locale
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from survey_app import formatting
from survey_app.numbers import parse_number


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
        assert formatting.signed(12.94) == "+12,9" and formatting.signed(-3.0) == "\u22123,0"
        assert formatting.signed(1234.5) == "+1.234,5"
        # Every negative number shown has the charts' minus sign (U+2212).
        assert formatting.number(-1234.5, 1) == "\u22121.234,5"
        assert formatting.number(-3) == "\u22123" and formatting.percent(-0.021) == "\u22122,1%"
        assert parse_number(formatting.number(-1234.5, 1)) == -1234.5  # read back
        assert formatting.month(date(2026, 12, 2)) == "12/2026"
        assert formatting.interval(0.755, 0.802) == "75,5% – 80,2%"
        assert formatting.interval(68.44, 71.0, "score") == "68,4 – 71,0"
    with force_locale("en"):
        assert formatting.index_value(0.772, "rate") == "77.2%"
        assert formatting.signed(-0.04) == "\u22120.0" and formatting.signed(None) == "—"
        assert parse_number(formatting.signed(-1234.5)) == -1234.5
        assert formatting.month(date(2026, 12, 2)) == "Dec 2026"


def test_the_template_filters_use_it(app: Flask) -> None:
    with app.test_request_context("/?lang=vi"), force_locale("vi"):
        rendered = app.jinja_env.from_string(
            "{{ 44606|number }} {{ 0.78|pct }} {{ d|date_short }} {{ none|value }}"
        ).render(d=date(2026, 12, 2), none=None)
    assert rendered == "44.606 78,0% 02/12/2026 —"


@settings(
    max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    value=st.floats(allow_nan=False, allow_infinity=False)
    | st.decimals(min_value=-(10**7), max_value=10**7, places=3).map(float),
    lang=st.sampled_from(["vi", "en"]),
)
def test_a_form_field_reads_back_the_number_it_shows(app: Flask, value: float, lang: str) -> None:
    """What a number field shows (``formatting.editable``) is read back as the same
    number by the one rule that reads typed numbers (``numbers.parse_number``): no
    thousands separator, the reader's decimal sign, no rounding, and never a lone
    separator before exactly three digits (which that rule reads as thousands)."""
    with force_locale(lang):
        shown = formatting.editable(value)
        assert parse_number(shown) == value, shown
        assert ("." if lang == "vi" else ",") not in shown


def test_what_a_number_field_shows(app: Flask) -> None:
    with force_locale("vi"):
        assert [formatting.editable(v) for v in (1.5, 5000.0, 1e-7, 1.125, 0.125, 2.0)] == [
            "1,5", "5000", "0,0000001", "1,1250", "0,125", "2",
        ]  # fmt: skip
    with force_locale("en"):
        assert formatting.editable(1.5) == "1.5" and formatting.editable(1.125) == "1.1250"
