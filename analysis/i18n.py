"""The library's messages in Vietnamese or English.

Every message the library raises, warns or prints is written in English and marked
with :func:`_`, which translates it into the current language with the catalogue
``analysis/translations/<lang>/LC_MESSAGES/analysis.po`` (compiled to ``.mo`` by
``scripts/run.sh`` and ``scripts/test.sh``; ``scripts/i18n.py update --domain analysis``
keeps it in step with the code). Placeholders are named, as in the web app's messages:
``_("weights column %(name)s is not numeric", name=show(name))``.

The language is a context variable: English unless chosen, for programs that call the
library; ``python -m analysis`` chooses Vietnamese unless told otherwise
(:mod:`analysis.cli`), and the web app chooses the reader's language for each request
and each ``flask`` command (:func:`set_language`, :func:`reset_language`).
:func:`speaking` chooses it for a block of code.
"""

from __future__ import annotations

import gettext
import os
import re
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar, Token
from functools import cache
from pathlib import Path
from typing import Any

#: The languages of the messages; the first is the command line's default.
LANGUAGES = ("vi", "en")
#: The gettext domain of the library's catalogue.
DOMAIN = "analysis"
#: Where the catalogues are.
LOCALE_DIR = Path(__file__).resolve().parent / "translations"

#: The environment variable that chooses the command lines' language (``python -m
#: analysis`` and the web app's ``flask`` commands alike).
LANGUAGE_VARIABLE = "SURVEY_LANG"

_language: ContextVar[str | Callable[[], str]] = ContextVar("analysis_language", default="en")


@cache
def catalogue(lang: str) -> gettext.NullTranslations:
    """The compiled catalogue of ``lang`` (English: none, the messages as written)."""
    if lang == "en":
        return gettext.NullTranslations()
    return gettext.translation(DOMAIN, LOCALE_DIR, languages=[lang])


def require_catalogue(lang: str) -> None:
    """A ``RuntimeError`` saying what to run when the compiled catalogue of ``lang`` is
    missing: the command line and the web app refuse to start rather than fail in the
    middle of an error message."""
    try:
        catalogue(lang)
    except OSError as error:
        raise RuntimeError(
            f"{LOCALE_DIR}: the statistics library's Vietnamese messages are not compiled: "
            "run scripts/run.sh, or pybabel compile -D analysis -d analysis/translations"
        ) from error


def _(msgid: str, /, **values: Any) -> str:
    """``msgid`` in the current language, its ``%(name)s`` placeholders filled."""
    text = catalogue(language()).gettext(msgid)
    return text % values if values else text


def N_(message: str) -> str:  # noqa: N802 (the gettext name for a no-op marker)
    """Mark ``message`` for the catalogue; it is translated where it is shown."""
    return message


def language() -> str:
    """The current language of the messages."""
    chosen = _language.get()
    lang = chosen() if callable(chosen) else chosen
    return lang if lang in LANGUAGES else "en"


def set_language(lang: str | Callable[[], str]) -> Token[str | Callable[[], str]]:
    """Messages in ``lang`` (``vi`` or ``en``) from now on in this context, until
    :func:`reset_language` is given the token returned. ``lang`` may be a function that
    gives the language each time a message is made: the web app's (a request's
    language may change within it, e.g. for an API reply in its Accept-Language)."""
    if not callable(lang):
        if lang not in LANGUAGES:
            raise ValueError(f"unknown language {lang!r}: choose vi or en / chọn vi hoặc en")
        catalogue(lang)  # a missing catalogue fails here, not in the middle of an error
    return _language.set(lang)


def reset_language(token: Token[str | Callable[[], str]]) -> None:
    """The language before the :func:`set_language` call that gave ``token``."""
    _language.reset(token)


@contextmanager
def speaking(lang: str) -> Iterator[None]:
    """Messages in ``lang`` (``vi`` or ``en``) inside the block."""
    token = set_language(lang)
    try:
        yield
    finally:
        reset_language(token)


def language_in(args: Sequence[str]) -> str | None:
    """The last valid ``--lang X`` / ``--lang=X`` before ``--`` on a command line, read
    ahead of its parser (which refuses an invalid value itself, in the language
    otherwise chosen); None when there is none."""
    found = None
    for i, arg in enumerate(args):
        if arg == "--":
            break
        if arg == "--lang" and i + 1 < len(args):
            value: str | None = args[i + 1]
        elif arg.startswith("--lang="):
            value = arg.partition("=")[2]
        else:
            continue
        if value in LANGUAGES:
            found = value
    return found


def language_from_environment() -> str:
    """``SURVEY_LANG`` (``vi``, ``en``, ``en_US.UTF-8``...), else Vietnamese; an invalid
    value is a ``ValueError`` worded in both languages (neither is chosen yet)."""
    raw = os.environ.get(LANGUAGE_VARIABLE, "").strip()
    if not raw:
        return LANGUAGES[0]
    lang = re.split(r"[_.@-]", raw, maxsplit=1)[0].lower()
    if lang not in LANGUAGES:
        raise ValueError(f"{LANGUAGE_VARIABLE}={raw}: chọn vi hoặc en / choose vi or en")
    return lang
