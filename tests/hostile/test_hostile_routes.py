"""Hostile strings in every parameter of every route: never a 5xx, nothing half stored.

Every rule of ``app.url_map`` (new ones are picked up) is requested with each of its
path variables, and each query parameter the views read, set to a hostile string, as
an anonymous visitor, a province-wide administrator and a leader scoped to one ward,
on the demo province (SQLite, or PostgreSQL with ``TEST_DATABASE_URL``).

Two sources of strings:
- a fixed sweep (``HOSTILE``): NUL, lone surrogates (as they arrive on the wire:
  UTF-8-encoded, i.e. invalid UTF-8), other control characters, spreadsheet formula
  prefixes, a 10,000-character string, huge numbers, non-ASCII digits (``²``, ``④``,
  ``١٢``), path tricks; every parameter gets every one of them;
- hypothesis: random text mixed from the same ingredients, in random parameters.

Afterwards no response is stored without its answers, nothing was stored at all
(these requests never carry a valid submission), and no unit, desk, user, wave or
weighting scheme was created or removed.
"""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
from flask import Flask
from flask.testing import FlaskClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from werkzeug.routing import Rule

from survey_app.extensions import db
from tests.helpers.hostile import (
    HOSTILE,
    Counts,
    counts,
    encode,
    hostile_text,
    path_with,
    valid_values,
)

pytestmark = pytest.mark.demo


#: Strings per parameter in the sweep (rotating through HOSTILE).
PER_PARAMETER = 4

# Query parameters the views read, by the start of the path (survey_app/blueprints).
QUERY_PARAMS: dict[str, tuple[str, ...]] = {
    "/api/v1/indices": ("unit", "wave", "index", "kind", "by", "field", "channel", "lang"),
    "/api/v1/changes": ("unit", "from", "to", "index", "kind", "lang"),
    "/api/v1/trends": ("unit", "wave", "index", "kind", "lang"),
    "/api/v1/rankings": ("parent", "wave", "unit_kind", "previous", "index", "kind", "lang"),
    "/dashboard/": ("unit", "units", "kind", "index", "parent", "wave", "previous",
                    "unit_kind", "download", "lang"),
    "/scorecard/": ("unit", "wave", "lang"),
    "/admin/audit/": ("action", "user", "date_from", "date_to", "page", "lang"),
    "/admin/units/": ("parent", "lang"),
    "/analyst/planner/": ("margin", "proportion", "deff", "level", "parent", "units", "lang"),
    "/analyst/weights/": ("layout", "variables", "lang"),
    "/analyst/waves/": ("lang", "kind", "unit"),
    "/auth/login": ("next", "lang"),
    "/s/": ("step", "lang"),
    "/kiosk/": ("lang",),
    "/": ("lang",),
}  # fmt: skip
# Valid companions, so that a hostile value reaches as deep as it can.
BASE_QUERY: dict[str, list[tuple[str, str]]] = {
    "/api/v1/indices": [("unit", "NA-HM"), ("wave", "HM-2017")],
    "/api/v1/changes": [("unit", "NA-HM"), ("from", "HM-2017"), ("to", "HM-2018-05")],
    "/api/v1/trends": [("unit", "NA-HM"), ("wave", "HM-2017"), ("wave", "HM-2018-05"),
                       ("wave", "HM-2018-12")],
    "/api/v1/rankings": [("parent", "QNG"), ("wave", "QN-2022")],
    "/analyst/planner/": [("margin", "5"), ("proportion", "0.5"), ("deff", "1.5"),
                          ("level", "0.95")],
}  # fmt: skip


def query(rule: Rule, name: str | None = None, value: str | None = None) -> str:
    """The rule's valid query, with ``name`` (all its values) replaced by ``value``."""
    pairs = [(k, v) for k, v in BASE_QUERY.get(rule.rule, []) if k != name]
    text = "&".join(f"{k}={encode(v)}" for k, v in pairs)
    if name is not None and value is not None:
        text = f"{text}&{name}={encode(value)}" if text else f"{name}={encode(value)}"
    return f"?{text}" if text else ""


def requests_for(app: Flask, hostile: list[str], per_parameter: int) -> Iterator[tuple[str, str]]:
    """(method, URL): each path variable and each query parameter of each rule set to
    ``per_parameter`` of the strings, rotating, so every string goes to many parameters
    and every parameter gets strings of several kinds (the edge's and the views')."""
    turn = 0

    def some() -> list[str]:
        nonlocal turn
        turn += 1
        step = max(len(hostile) // per_parameter, 1)
        return [hostile[(turn + k * step) % len(hostile)] for k in range(per_parameter)]

    for rule in sorted(app.url_map.iter_rules(), key=lambda r: r.rule):
        methods = sorted((rule.methods or set()) - {"HEAD", "OPTIONS"})
        method = "GET" if "GET" in methods else methods[0]
        valid = {name: encode(value) for name, value in valid_values(rule).items()}
        base_path = path_with(rule, valid)
        for name in sorted(rule.arguments):
            for value in some():
                yield method, path_with(rule, {**valid, name: encode(value)}) + query(rule)
        if method != "GET" or "<path:" in rule.rule:
            continue
        for name in query_params(rule):
            for value in some():
                yield method, base_path + query(rule, name, value)


def query_params(rule: Rule) -> tuple[str, ...]:
    """The query parameters the rule's view reads (by the longest matching prefix)."""
    return QUERY_PARAMS[max((p for p in QUERY_PARAMS if rule.rule.startswith(p)), key=len)]


def nothing_stored_or_changed(before: Counts) -> None:
    """No response without its answers, and the counts of responses, answers and things
    are what they were."""
    db.session.rollback()
    after = counts()
    assert after.bare == 0
    assert (after.responses, after.values, after.things) == (
        before.responses, before.values, before.things,
    )  # fmt: skip


def check(client: FlaskClient, method: str, url: str) -> int:
    with client.open(url, method=method) as reply:
        assert reply.status_code < 500, (method, url[:200], reply.status_code, reply.data[:300])
        return reply.status_code


@pytest.mark.parametrize("who", ["anonymous", "admin", "leader"])
def test_every_parameter_of_every_route_with_every_hostile_string(
    app: Flask, clients: dict[str, FlaskClient], who: str
) -> None:
    before = counts()
    db.session.rollback()
    started = time.monotonic()
    statuses: dict[int, int] = {}
    sent = 0
    slowest: list[tuple[float, str]] = []
    for method, url in requests_for(app, HOSTILE, PER_PARAMETER):
        one = time.monotonic()
        status = check(clients[who], method, url)
        slowest.append((time.monotonic() - one, url[:80]))
        statuses[status] = statuses.get(status, 0) + 1
        sent += 1
    print(sorted(slowest)[-8:])
    nothing_stored_or_changed(before)
    assert sent > 500
    print(f"\n{who}: {sent} hostile requests in {time.monotonic() - started:.1f} s, {statuses}")


@pytest.mark.parametrize("who", ["anonymous", "admin"])
def test_random_hostile_text_in_random_parameters(
    app: Flask, clients: dict[str, FlaskClient], who: str
) -> None:
    before = counts()
    db.session.rollback()
    # Not logging out: the session must stay the admin's.
    rules = sorted(
        (r for r in app.url_map.iter_rules() if r.endpoint != "auth.logout"), key=lambda r: r.rule
    )

    @settings(max_examples=120, deadline=None, suppress_health_check=list(HealthCheck))
    @given(rule=st.sampled_from(rules), text=hostile_text, data=st.data())
    def attack(rule: Rule, text: str, data: st.DataObject) -> None:
        valid = {name: encode(value) for name, value in valid_values(rule).items()}
        names = sorted(rule.arguments) + [f"?{q}" for q in query_params(rule)]
        name = data.draw(st.sampled_from(names))
        methods = sorted((rule.methods or set()) - {"HEAD", "OPTIONS"})
        method = data.draw(st.sampled_from(methods))
        if name.startswith("?"):
            url = path_with(rule, valid) + query(rule, name[1:], text)
        else:
            url = path_with(rule, {**valid, name: encode(text)}) + query(rule)
        check(clients[who], method, url)

    attack()
    nothing_stored_or_changed(before)
