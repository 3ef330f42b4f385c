"""No English sentence reaches a Vietnamese reader, and no Vietnamese one an English reader.

The walk is not a hand-kept list of pages: every GET endpoint of ``app.url_map`` is
rendered on the demo province for each role (anonymous, leader, analyst, admin), with
no query, with nonsense in every query argument the pages and the API read, and with
mismatched units and waves (the API's and the pages' error paths); then every form
found on those pages is submitted with invalid data (empty, nonsense, files that are
not spreadsheets), and every POST endpoint with nothing at all. Redirects are followed,
so flashed messages are read too.

English is found two ways, so a message nobody thought of is still caught:

- a phrase of three or more words of any msgid of the catalogue (the app's English
  source strings) that appears verbatim in a Vietnamese answer is an untranslated
  message;
- three consecutive common English words (``ENGLISH`` in ``tests/helpers/languages.py``,
  a word list without the syllables Vietnamese also writes without diacritics) are an
  English sentence from somewhere else (WTForms, Flask-Login, a library, an exception's text).

Python's ``None``/``True``/``False`` and numpy reprs count as English too. Text in
``<code>``/``<pre>`` (R and Stata commands) and the language switch's own name are left
out. In English the same walk looks for the catalogue's Vietnamese phrases.
"""

from __future__ import annotations

import csv
import html
import io
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import cache
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from werkzeug.routing import Rule

from survey_app.admin import accounts
from survey_app.extensions import db
from survey_app.models import Role, User, Wave
from tests.helpers.demo_paths import Demo, build_path, client_for, demo_values
from tests.helpers.languages import catalogue_phrases, english_in, vietnamese_in

pytestmark = pytest.mark.demo

PASSWORD = "vietnamese-everywhere-pw"

# Not pages for people: the charting library, the service worker, static files, the
# developers' OpenAPI description.
NOT_FOR_READING = {"static", "assets.plotly_js", "kiosk.service_worker", "api.openapi_document"}
# Logging out would end the walk; it has no message of its own.
NOT_SUBMITTED = {"auth.logout"}

CODE = re.compile(r"\w\(.*\)")  # a function call


class Reader(HTMLParser):
    """What a person reads on a page (text, titles, labels, chart texts) and its forms."""

    SKIPPED = frozenset({"code", "pre", "kbd", "samp", "style", "script"})

    def __init__(self, other_lang: str) -> None:
        super().__init__(convert_charrefs=True)
        self.other_lang = other_lang
        self.texts: list[str] = []
        self.forms: list[FormSpec] = []
        self._skip: list[str] = []
        self._json = False
        self._source = ""
        self._form: FormSpec | None = None
        self._select: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "script" and a.get("type") == "application/json":
            self._json = True
            self._source = ""
        if tag in self.SKIPPED or a.get("lang") == "en" or "lang-switch" in a.get("class", ""):
            self._skip.append(tag)
        for name in ("title", "aria-label", "placeholder", "alt"):
            if a.get(name):
                self.texts.append(a[name])
        if tag == "form":
            self._form = FormSpec(a.get("action", ""), (a.get("method") or "get").lower())
            self.forms.append(self._form)
        elif self._form is not None and tag in ("input", "select", "textarea") and a.get("name"):
            self._form.fields[a["name"]] = a.get("type", tag) if tag == "input" else tag
            if tag == "select":
                self._select = a["name"]
        if tag == "input" and a.get("type") in ("submit", "button") and a.get("value"):
            self.texts.append(a["value"])

    def handle_endtag(self, tag: str) -> None:
        if tag == "script" and self._json:
            self._json = False
            self.texts.extend(json_strings(json.loads(self._source), self.other_lang))
        if tag == "form":
            self._form = None
        if self._skip and self._skip[-1] == tag:
            self._skip.pop()

    def handle_data(self, data: str) -> None:
        if self._json:
            self._source += data
        elif not self._skip:
            self.texts.append(data)


def json_strings(value: Any, other_lang: str) -> Iterator[str]:
    """The string values of a decoded JSON document (not its keys), leaving out the
    texts kept under the other language's key (the kiosk carries both languages to
    switch without the network)."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for key, item in value.items():
            if key != other_lang:
                yield from json_strings(item, other_lang)
    elif isinstance(value, list):
        for item in value:
            yield from json_strings(item, other_lang)


@dataclass
class FormSpec:
    action: str
    method: str
    fields: dict[str, str] = field(default_factory=dict)


def readable(response: Any, lang: str) -> tuple[list[str], list[FormSpec]]:
    mimetype = response.mimetype or ""
    other = "en" if lang == "vi" else "vi"
    if response.is_json:
        return list(json_strings(response.get_json(), other)), []
    if mimetype == "text/html":
        reader = Reader(other)
        reader.feed(response.get_data(as_text=True))
        return reader.texts, reader.forms
    if mimetype == "text/csv":
        # A codebook's R and Stata commands are code, like <code> on a page.
        rows = csv.reader(io.StringIO(response.get_data(as_text=True)))
        return [cell for row in rows for cell in row if not CODE.search(cell)], []
    if mimetype.startswith("text/"):
        return [html.unescape(response.get_data(as_text=True))], []
    return [], []


@dataclass
class Walk:
    app: Flask
    lang: str
    problems: list[str] = field(default_factory=list)
    found: dict[str, list[str]] = field(default_factory=dict)  # phrase: where
    forms: dict[tuple[str, str, tuple[str, ...]], FormSpec] = field(default_factory=dict)
    seen: int = 0

    def read(self, who: str, what: str, response: Any) -> None:
        if response.status_code >= 500:
            self.problems.append(f"{who} {what}: {response.status_code}")
        texts, forms = readable(response, self.lang)
        self.seen += 1
        text = "\n".join(texts)
        found = english_in(text) if self.lang == "vi" else vietnamese_in(text)
        for phrase in set(found):
            self.found.setdefault(phrase, []).append(f"{who} {what} [{response.status_code}]")
        for form in forms:
            # A form without an action posts to its own page.
            form.action = form.action or response.request.path
            key = (form.action, form.method, tuple(sorted(form.fields)))
            self.forms.setdefault(key, form)


def invalid_values(form: FormSpec) -> Iterator[dict[str, Any]]:
    """Empty, nonsense, negative and too long values, and files that are no table."""
    for value in ("", "zz", "-1", "x" * 300):
        data: dict[str, Any] = {}
        for name, kind in form.fields.items():
            if name in ("csrf_token", "lang"):
                continue
            if kind == "file":
                data[name] = (io.BytesIO(b"\x00\x01not a table" if value else b""), "bad.csv")
            elif kind in ("hidden", "submit"):
                data[name] = value or "zz"
            else:
                data[name] = value
        yield data


QUERY_ARGUMENT = re.compile(r'(?:request\.args\.(?:get|getlist)|_arg)\("(\w+)"')


@cache
def query_arguments() -> tuple[str, ...]:
    """Every query argument the views read (found in the blueprints' source)."""
    folder = Path(__file__).resolve().parents[2] / "survey_app" / "blueprints"
    found = {m for f in folder.glob("*.py") for m in QUERY_ARGUMENT.findall(f.read_text())}
    return tuple(sorted(found - {"lang", "next"}))


def query_variants(demo: Demo, kiosk_wave: str) -> list[str]:
    """No query; nonsense in every argument; mismatched units and waves; a field wave
    against a feedback wave (which cannot be analysed together)."""
    names = query_arguments()
    assert {"unit", "wave", "wave_a", "mode"} <= set(names)
    nonsense = "&".join(f"{name}=ZZ-9" for name in names)
    inside, outside = demo.inside, demo.outside
    mismatched = (
        f"unit={inside['unit']}&wave={outside['wave']}&from={kiosk_wave}&to={inside['wave']}"
        f"&parent={inside['unit']}&units={inside['unit']}&units=NA-HM&previous={kiosk_wave}"
        f"&index=overall&kind=score&mode=units&unit_a={inside['unit']}&unit_b=NA-HM"
        f"&wave_a={inside['wave']}&wave_b={outside['wave']}"
    )
    field_vs_feedback = (
        f"unit=NA-HM&from={inside['wave']}&to={kiosk_wave}&wave={kiosk_wave}"
        f"&units=NA-HM&units=HM-MH&previous={inside['wave']}&mode=waves&unit_a=NA-HM"
        f"&wave_a={inside['wave']}&wave_b={kiosk_wave}"
    )
    return ["", nonsense, mismatched, field_vs_feedback]


def follow(client: FlaskClient, response: Any) -> Any:
    """Follow redirects by hand (the isolated test client runs each request in its own
    context, which werkzeug's own following does not)."""
    for _ in range(5):
        if response.status_code not in (301, 302, 303, 307, 308):
            break
        response = client.get(response.headers["Location"])
    return response


def fill(rule: Rule, demo: Demo) -> str | None:
    """The rule's path on the demo; None for a parameter the access map does not know yet
    (test_access_map fails on it)."""
    try:
        return build_path(rule, demo, "inside")
    except KeyError:
        return None


def walk(app: Flask, lang: str) -> Walk:
    """Read every page and API answer as each role, then submit every form wrongly."""
    demo = demo_values()
    users: dict[str, User | None] = {"anonymous": None}
    for role in (Role.LEADER, Role.ANALYST, Role.ADMIN):
        users[role.value] = accounts.create_user(f"vi_{role.value}", PASSWORD, role)
    target = accounts.create_user("vi_target", PASSWORD, Role.LEADER, demo.inside["unit"])
    demo.inside["user"] = str(target.id)
    kiosk_wave = db.session.scalar(select(Wave.code).where(Wave.code.startswith("KIOSK-NA")))
    assert kiosk_wave
    result = Walk(app, lang)
    clients: dict[str, FlaskClient] = {}
    for who, user in users.items():
        client = client_for(app, user)
        with client.session_transaction() as session:
            session["lang"] = lang  # pages follow the session, the API Accept-Language
        client.environ_base["HTTP_ACCEPT_LANGUAGE"] = lang
        clients[who] = client
    rules = sorted(app.url_map.iter_rules(), key=lambda r: r.rule)
    for who, client in clients.items():
        for rule in rules:
            if rule.endpoint in NOT_FOR_READING or "GET" not in (rule.methods or ()):
                continue
            path = fill(rule, demo)
            if path is None:
                continue
            for query in query_variants(demo, kiosk_wave):
                url = f"{path}?{query}" if query else path
                result.read(who, f"GET {url}", follow(client, client.get(url)))
    for who, client in clients.items():
        for (action, method, _), form in sorted(result.forms.items()):
            if "logout" in action or not action.startswith("/"):
                continue
            target_url = action
            for data in invalid_values(form):
                if method == "post":
                    response = follow(client, client.post(target_url, data=data))
                else:
                    response = follow(client, client.get(target_url, query_string=data))
                shown = {k: (v if isinstance(v, str) else "<file>")[:12] for k, v in data.items()}
                result.read(who, f"{method.upper()} {target_url} {shown}", response)
        for rule in rules:
            if rule.endpoint in NOT_SUBMITTED or "POST" not in (rule.methods or ()):
                continue
            path = fill(rule, demo)
            if path is None:
                continue
            result.read(who, f"POST {path} (nothing)", follow(client, client.post(path)))
            result.read(
                who,
                f"POST {path} (bad JSON)",
                client.post(path, data="{", content_type="application/json"),
            )
            result.read(
                who,
                f"POST {path} (JSON of wrong types)",
                client.post(path, json={"desk": 5, "answers": "x", "id": [], "lang": "fr"}),
            )
    return result


# Both languages on SQLite; on the PostgreSQL pass Vietnamese only (the database does
# not change which language a page speaks; it does change the data pages show).
@pytest.mark.slow
@pytest.mark.same_on_every_database("lang")
@pytest.mark.parametrize("lang", ["vi", "en"])
def test_no_english_on_vietnamese_pages_and_no_vietnamese_on_english_ones(
    app: Flask, client: FlaskClient, lang: str
) -> None:
    result = walk(app, lang)
    assert result.seen > 500 and len(result.forms) > 10  # the walk really went everywhere
    report = [f"{problem}" for problem in result.problems[:50]]
    for phrase, where in sorted(result.found.items()):
        report.append(f"{phrase!r} ({len(where)}x), e.g. {where[0][:300]}")
    assert not report, f"{len(report)} problems:\n" + "\n".join(report)


def test_the_detector_finds_english_and_leaves_vietnamese_alone() -> None:
    assert english_in("Please log in to access this page.")
    assert english_in("Number must be between 10 and 3600.")
    assert english_in("field surveys and continuous feedback cannot be analysed together")
    assert english_in("previous: None")
    assert not english_in("Tỷ lệ hài lòng tăng 12,9 điểm phần trăm, có ý nghĩa thống kê.")
    assert not english_in("Thông tin in ra: Ban quản lý, Long An, so sánh hai đợt")
    assert vietnamese_in("Vui lòng đăng nhập để tiếp tục.") or not catalogue_phrases()[1]
