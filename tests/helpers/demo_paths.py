"""The app's URLs filled from the demo province: parameter values inside and outside the
ward a scoped test user is responsible for, and a client logged in as a given user."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from werkzeug.routing import Rule

from survey_app.extensions import db
from survey_app.models import (
    Alert,
    AlertRule,
    Questionnaire,
    Unit,
    User,
    Wave,
    WeightingScheme,
)

SCOPE_UNIT = "HM-MH"  # every scoped test user is responsible for this ward only

OUTSIDE_PROVINCE = "QNG"  # nothing of this province may reach them


@dataclass
class Demo:
    """Values for URL parameters: inside and outside the scoped users' ward."""

    inside: dict[str, str]
    outside: dict[str, str]
    neutral: dict[str, str]
    markers: list[str]  # names that must never appear in what a scoped user receives


# Parameters that name something in a unit's scope: a kind of object per name.
SCOPED: dict[str, str] = {
    "unit": "unit",
    "unit_code": "unit",
    "parent": "unit",
    "wave": "wave",
    "wave_code": "wave",
    "desk": "desk",
    "desk_code": "desk",
    "user_id": "user",
    "scheme_id": "scheme",
    "alert_id": "alert",
}

# ``<code>`` means what the path segment before it says.
CODE_AFTER_SEGMENT: dict[str, str] = {
    "unit": "unit",
    "units": "unit",
    "desks": "desk",
    "waves": "wave",
    "weights": "wave",
    "small-area": "wave",
    "scorecard": "unit",
}

# Parameters that name nothing in a scope (filled with a valid value).
NEUTRAL: tuple[str, ...] = ("fmt", "page", "slug", "version", "filename", "name")


def demo_values() -> Demo:
    def unit_id(code: str) -> int:
        return db.session.scalar(select(Unit.id).where(Unit.code == code))  # type: ignore[return-value]

    qng = db.session.scalar(select(Unit).where(Unit.code == OUTSIDE_PROVINCE))
    assert qng is not None
    outside_units = db.session.scalars(select(Unit).where(Unit.path.startswith(qng.path))).all()
    outside_waves = db.session.scalars(select(Wave).where(Wave.unit_id == qng.id)).all()
    qn_wave = next(w for w in outside_waves if w.code == "QN-2022")
    scheme = WeightingScheme(wave_id=qn_wave.id, name="access-map", version=99, method="design")
    db.session.add(scheme)
    inside_wave = db.session.scalar(select(Wave).where(Wave.code == "HM-2018-12"))
    assert inside_wave is not None
    inside_scheme = WeightingScheme(
        wave_id=inside_wave.id, name="access-map", version=99, method="design"
    )
    db.session.add(inside_scheme)
    db.session.commit()
    alerts = {
        where: Alert(
            rule=AlertRule.BURST,
            subject=f"access-map-{where}",
            episode=1,
            unit_id=unit_id(code),
            details={"desk": None, "responses": 5, "first": "2026-11-18T10:00:00+07:00"},
        )
        for where, code in (("inside", SCOPE_UNIT), ("outside", "QNG-BS"))
    }
    db.session.add_all(alerts.values())
    db.session.commit()
    outside_user = db.session.scalar(select(User.id).where(User.username == "leader_qn"))
    q = db.session.scalar(select(Questionnaire).where(Questionnaire.slug == "sipas"))
    assert q is not None and outside_user is not None and unit_id(SCOPE_UNIT)
    markers = {name for u in outside_units for name in (u.name_vi, u.name_en)}
    markers |= {name for w in outside_waves for name in (w.name_vi, w.name_en)}
    return Demo(
        inside={
            "unit": SCOPE_UNIT,
            "wave": inside_wave.code,
            "desk": f"Q-{SCOPE_UNIT}",
            "user": "",  # filled once the scoped users exist
            "scheme": str(inside_scheme.id),
            "alert": str(alerts["inside"].id),
        },
        outside={
            "unit": "QNG-BS",
            "wave": qn_wave.code,
            "desk": "Q-QNG-BS",
            "user": str(outside_user),
            "scheme": str(scheme.id),
            "alert": str(alerts["outside"].id),
        },
        neutral={
            "fmt": "csv",
            "page": "unit",
            "slug": q.slug,
            "version": str(q.version),
            "filename": "css/app.css",
        },
        markers=sorted(markers),
    )


def parameter_kind(rule: Rule, name: str) -> str:
    """ "unit", "wave", "desk", "user", "scheme", "neutral" or "unknown"."""
    if name in SCOPED:
        return SCOPED[name]
    if name in NEUTRAL:
        return "neutral"
    if name == "code":
        before = rule.rule.split("<code>")[0].rstrip("/").rsplit("/", 1)[-1]
        return CODE_AFTER_SEGMENT.get(before, "unknown")
    return "unknown"


def build_path(rule: Rule, demo: Demo, where: str) -> str:
    """The rule's path with every parameter filled, scoped ones from ``where``."""
    values: dict[str, Any] = {}
    for name in rule.arguments:
        kind = parameter_kind(rule, name)
        if kind == "neutral":
            values[name] = demo.neutral[name]
        else:
            values[name] = getattr(demo, where)[kind]
    path = rule.rule
    for name, value in values.items():
        path = re.sub(r"<(?:[^:<>]+:)?" + name + r">", str(value), path)
    return path


def client_for(app: Flask, user: User | None) -> FlaskClient:
    client = app.test_client()
    if user is not None:
        with client.session_transaction() as session:
            session["_user_id"] = user.get_id()
            session["_fresh"] = True
    return client
