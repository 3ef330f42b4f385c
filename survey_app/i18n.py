"""Language switch and locale-aware formatting helpers for templates."""

from __future__ import annotations

from urllib.parse import urlencode, urlsplit

from flask import Flask, current_app, request, session
from flask_babel import format_decimal, format_percent, get_locale

from survey_app.extensions import LANGUAGES


def current_lang() -> str:
    locale = get_locale()
    return str(locale.language) if locale is not None else "vi"


def switch_url(lang: str) -> str:
    """The current page in another language (keeps the path and other query arguments)."""
    args = {key: value for key, value in request.args.items() if key != "lang"}
    args["lang"] = lang
    return request.path + "?" + urlencode(args)


def safe_next(target: str | None, default: str = "/") -> str:
    """Only same-site relative paths are followed after login or a language change."""
    if not target:
        return default
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return default
    return target


def remember_language() -> None:
    """An explicit ``?lang=`` choice sticks for the rest of the session."""
    lang = request.args.get("lang")
    if lang in LANGUAGES:
        session["lang"] = lang


def register(app: Flask) -> None:
    app.before_request(remember_language)

    @app.context_processor
    def inject_i18n() -> dict[str, object]:
        return {
            "current_lang": current_lang(),
            "switch_url": switch_url,
            "languages": current_app.config["LANGUAGES"],
        }

    app.jinja_env.filters["pct"] = lambda value, digits=1: format_percent(
        value, format="#,##0." + "0" * digits + "%"
    )
    app.jinja_env.filters["number"] = lambda value: format_decimal(value)
    register_filters(app)


def _datetime_short(value: object) -> str:
    """23/11/2026 14:05 in Vietnamese; the locale's own short form in English."""
    from datetime import datetime

    from flask_babel import format_datetime

    if not isinstance(value, datetime):
        return "—" if value is None else str(value)
    pattern = "dd/MM/yyyy HH:mm" if current_lang() == "vi" else "short"
    return format_datetime(value, pattern)


def date_short(value: object) -> str:
    """23/11/2026 in Vietnamese; Nov 23, 2026 in English."""
    from datetime import date

    from flask_babel import format_date

    if not isinstance(value, date):
        return "—" if value is None else str(value)
    return format_date(value, "dd/MM/yyyy" if current_lang() == "vi" else "medium")


def register_filters(app: Flask) -> None:
    app.jinja_env.filters["datetime_short"] = _datetime_short
    app.jinja_env.filters["date_short"] = date_short
