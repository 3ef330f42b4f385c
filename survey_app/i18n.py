"""Language switch and locale-aware formatting helpers for templates."""

from __future__ import annotations

from functools import cache
from urllib.parse import urlencode, urlsplit

from babel import Locale
from flask import Flask, current_app, g, request, session
from flask_babel import get_locale
from werkzeug.datastructures import LanguageAccept

from analysis import i18n as library_language
from survey_app.extensions import LANGUAGES


def current_lang() -> str:
    """The language in force (the request's, or one forced around the call): vi or en;
    vi outside a request or for any other locale."""
    locale = get_locale()
    language = str(locale.language) if locale is not None else "vi"
    return language if language in LANGUAGES else "vi"


def preferred_language(accept: LanguageAccept) -> str:
    """vi or en from an Accept-Language header; vi when neither is asked for (the API's
    messages, survey_app/blueprints/api.py, and the edge's refusals of API requests)."""
    return accept.best_match(LANGUAGES, default="vi") or "vi"


@cache
def babel_locale(lang: str) -> Locale:
    """The Babel locale of a language code, parsed once: ``force_locale`` parses a
    string on every call, and a submission forces its language twice."""
    return Locale.parse(lang)


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


def library_speaks_the_readers_language() -> None:
    """The statistics library's messages (a reason a figure or a model cannot be
    computed, quoted in a page or an API reply) in the language in force when each is
    made, as the app's own messages: the request's, or the one forced around the call
    (the read API answers in the Accept-Language's language)."""
    g.library_language = library_language.set_language(current_lang)


def library_language_back(_error: BaseException | None) -> None:
    token = g.pop("library_language", None)
    if token is not None:
        library_language.reset_language(token)


def register(app: Flask) -> None:
    library_language.require_catalogue("vi")  # fail at start, not on every page
    app.before_request(remember_language)
    app.before_request(library_speaks_the_readers_language)
    app.teardown_request(library_language_back)

    @app.context_processor
    def inject_i18n() -> dict[str, object]:
        return {
            "current_lang": current_lang(),
            "switch_url": switch_url,
            "languages": current_app.config["LANGUAGES"],
        }

    from survey_app.public_address import poster_warning

    app.jinja_env.globals["poster_warning"] = poster_warning
