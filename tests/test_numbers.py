"""Numbers typed the Vietnamese or the English way (survey_app.numbers.parse_number)."""

from __future__ import annotations

import pytest
from flask import Flask
from flask_babel import force_locale

from survey_app.numbers import AmbiguousNumberError, NumberError, parse_number


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("36800", 36800.0),
        ("36 800", 36800.0),
        ("36\u00a0800", 36800.0),
        ("36.800", 36800.0),
        ("1.234.567", 1234567.0),
        ("1,234,567", 1234567.0),
        ("1.234,5", 1234.5),
        ("1,234.5", 1234.5),
        ("44.606", 44606.0),
        ("36,8", 36.8),
        ("36.8", 36.8),
        ("0,065", 0.065),
        ("0.354", 0.354),
        (",5", 0.5),
        ("-2,5", -2.5),
        ("\u22122,5", -2.5),  # the minus sign the app's pages show
        ("\u22121.234,5", -1234.5),
        ("+7", 7.0),
        ("1e3", 1000.0),
        ("2.5E-4", 0.00025),
        (" 12 ", 12.0),
    ],
)
def test_unambiguous_spellings(app: Flask, text: str, value: float) -> None:
    assert parse_number(text) == pytest.approx(value, rel=1e-15)


@pytest.mark.parametrize(
    "text",
    [
        "",
        "abc",
        "1.23.4",
        "1,23,456",
        "1.234,5.6",
        "12,34.5",
        "36,8,00",
        "inf",
        "nan",
        "--1",
        "\u2212-1",
    ],
)
def test_not_numbers(app: Flask, text: str) -> None:
    with pytest.raises(NumberError) as raised:
        parse_number(text)
    assert not isinstance(raised.value, AmbiguousNumberError)


def test_a_comma_before_three_digits_is_refused_with_both_readings(app: Flask) -> None:
    with force_locale("vi"):
        with pytest.raises(AmbiguousNumberError) as raised:
            parse_number("36,800")
        assert raised.value.readings == (36800.0, 36.8)
        message = str(raised.value)
        assert "36800" in message and "36,8" in message and "“36,800”" in message
        assert "hai cách" in message
    with force_locale("en"):
        with pytest.raises(AmbiguousNumberError) as raised:
            parse_number("1,500")
        message = str(raised.value)
        assert "1500" in message and "1.5" in message and "two ways" in message
