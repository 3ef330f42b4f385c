"""Hostile input for the demo province's routes and forms: the fixed sweep of hostile
strings, random hostile text, valid values for every URL parameter, and counts of what
is stored (nothing may change)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import quote

from flask import Flask
from flask.testing import FlaskClient
from hypothesis import strategies as st
from sqlalchemy import func, select
from werkzeug.routing import Rule

from survey_app.extensions import db
from survey_app.models import (
    AnswerValue,
    Desk,
    Response,
    Role,
    Unit,
    User,
    Wave,
    WeightingScheme,
)
from tests.helpers.accounts import login as accounts_login

PASSWORD = "hostile-routes-password"

HOSTILE: list[str] = [
    "\x00",
    "a\x00b",
    "\ud800",
    "x\udfffy",
    "\x01\x1b[31m\x7f",
    "\x85\x9f",
    "line\nbreak\r\ttab",
    "=1+1",
    "+A1",
    "-2+3",
    "@SUM(A1:A9)",
    '=HYPERLINK("http://x")',
    "x" * 10_000,
    "9" * 400,
    "1e400",
    "-1",
    "2147483648",
    "99999999999999999999",
    "²",
    "④",
    "١٢",
    "../../etc/passwd",
    "%00",
    "' OR '1'='1",
    "<script>alert(1)</script>",
    " ",
    "",
    "Ông/Bà 😀",
]

# What a path variable names, for the valid value of the others.
CODE_AFTER_SEGMENT = {"unit": "unit", "units": "unit", "desks": "desk", "waves": "wave",
                      "weights": "wave", "scorecard": "unit"}  # fmt: skip


@dataclass
class Counts:
    responses: int
    values: int
    bare: int
    things: tuple[int, ...]


def counts() -> Counts:
    def n(model: type) -> int:
        return int(db.session.scalar(select(func.count()).select_from(model)) or 0)

    bare = db.session.scalar(
        select(func.count())
        .select_from(Response)
        .where(~select(AnswerValue).where(AnswerValue.response_id == Response.id).exists())
    )
    return Counts(
        n(Response),
        n(AnswerValue),
        int(bare or 0),
        tuple(n(m) for m in (Unit, Desk, User, Wave, WeightingScheme)),
    )


def encode(value: str) -> str:
    """Percent-encoded as a client would send it (a surrogate as its UTF-8 bytes)."""
    return quote(value.encode("utf-8", "surrogatepass"), safe="")


def valid_values(rule: Rule) -> dict[str, str]:
    """A valid value of each of the rule's variables (the demo province's)."""
    wave_code = db.session.scalar(select(Wave.code).where(Wave.code == "HM-2017"))
    desk_code = db.session.scalar(select(Desk.code).order_by(Desk.id).limit(1))
    scheme_id = db.session.scalar(select(WeightingScheme.id).limit(1)) or 1
    by_kind = {"unit": "NA-HM", "wave": wave_code or "HM-2017", "desk": desk_code or "x"}
    values: dict[str, str] = {}
    for name in rule.arguments:
        if name == "code":
            segment = rule.rule.split("<code>")[0].rstrip("/").rsplit("/", 1)[-1]
            values[name] = by_kind.get(CODE_AFTER_SEGMENT.get(segment, ""), "x")
        elif name in ("unit_code", "parent"):
            values[name] = "NA-HM"
        elif name in ("wave_code",):
            values[name] = by_kind["wave"]
        elif name == "desk_code":
            values[name] = by_kind["desk"]
        else:
            values[name] = {
                "fmt": "csv", "page": "unit", "slug": "sipas", "version": "1",
                "filename": "css/app.css", "user_id": "1", "scheme_id": str(scheme_id),
            }.get(name, "x")  # fmt: skip
    return values


def path_with(rule: Rule, values: dict[str, str]) -> str:
    path = rule.rule
    for name, value in values.items():
        path = re.sub(r"<(?:[^:<>]+(?:\([^)]*\))?:)?" + name + r">", value, path)
    return path


def login(app: Flask, username: str, role: Role, unit: str | None) -> FlaskClient:
    """A new client of ``app`` logged in as a new user."""
    return accounts_login(app.test_client(), username, role, unit, PASSWORD)


INGREDIENTS = st.sampled_from(
    ["\x00", "\ud800", "\x1f", "\x7f", "\x9b", "=", "+", "-", "@", "²", "④", "٣", "9" * 40,
     "e400", "/", "..", "%", "'", '"', "<", "ư", "Đ", " ", "\n", "\t", "x" * 500]
)  # fmt: skip

hostile_text = st.lists(INGREDIENTS | st.text(max_size=8), min_size=1, max_size=6).map("".join)
