"""Weighting schemes of a wave: saved, activated, deactivated, listed, and their history.

A scheme is a named, versioned set of weights for every response of one wave, made by
adjusting the design weights (post-stratification, raking or calibration, optionally
followed by trimming) with :mod:`analysis.weighting`. At most one scheme per wave is
active; :func:`survey_app.reporting.indices.compute.compute` uses it and names it on every
figure. :func:`save_scheme` stores the preview's weights and an audit entry in one
transaction; :func:`activate` and :func:`deactivate` switch the wave's active scheme,
also audited. :func:`waves_in_scope` is the console's list of waves with their active
scheme.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError

from survey_app import access, audit, bulk
from survey_app.extensions import db
from survey_app.models import (
    AuditLog,
    Response,
    ResponseWeight,
    Unit,
    User,
    Wave,
    WeightingScheme,
)
from survey_app.models._types import utcnow
from survey_app.weighting.errors import SchemeError
from survey_app.weighting.preview import preview
from survey_app.weighting.published import active_schemes
from survey_app.weighting.sample import WaveSample
from survey_app.weighting.spec import WeightingSpec


def save_scheme(
    sample: WaveSample, options: WeightingSpec, name: str, user: User | None
) -> WeightingScheme:
    """Store a new version of scheme ``name`` with a weight for every response.

    The version is the previous largest version of that name in the wave plus one.
    The scheme, its weights and the audit entry are committed together. ``user`` is
    None for the command line (``flask weights apply``): the actor is ``system``.

    Raises
    ------
    WeightingInputError
        As :func:`preview` (nothing is stored).
    SchemeError
        An empty or too long name, or a concurrent save of the same version.
    """
    name = name.strip()
    if not 1 <= len(name) <= 120:
        raise SchemeError(_("The scheme needs a name of 1 to 120 characters."))
    result = preview(sample, options)
    wave = sample.wave
    latest = db.session.scalar(
        select(func.max(WeightingScheme.version)).where(
            WeightingScheme.wave_id == wave.id, WeightingScheme.name == name
        )
    )
    scheme = WeightingScheme(
        wave_id=wave.id,
        name=name,
        version=(latest or 0) + 1,
        method=options.method,
        params=options.to_json(),
        report=result.report_json(),
        is_active=False,
        created_by_id=user.id if user is not None else None,
    )
    try:
        db.session.add(scheme)
        db.session.flush()
        bulk.insert_rows(
            ResponseWeight.__table__,
            [
                {"scheme_id": scheme.id, "response_id": int(i), "weight": float(w)}
                for i, w in zip(sample.response_ids, result.weights, strict=True)
            ],
            ("scheme_id", "response_id", "weight"),
        )
        _audit(
            "weighting.create",
            wave,
            user,
            {
                **_described(scheme),
                "method": options.method,
                "responses": sample.n,
                "deff": result.report.deff_weighting,
                "file": options.filename,
            },
        )
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
        raise SchemeError(
            _("Another scheme named “%(name)s” was saved at the same moment; try again.", name=name)
        ) from None
    return scheme


def get_scheme(wave: Wave, scheme_id: int) -> WeightingScheme:
    scheme = db.session.get(WeightingScheme, scheme_id)
    if scheme is None or scheme.wave_id != wave.id:
        raise SchemeError(_("This wave has no such scheme."))
    return scheme


def activate(wave: Wave, scheme_id: int, user: User | None) -> WeightingScheme:
    """Make a scheme the wave's active one; the previous one is deactivated in the
    same transaction (the database allows one active scheme per wave). ``user`` is
    None for the command line: the actor is ``system``."""
    scheme = get_scheme(wave, scheme_id)
    if scheme.is_active:
        return scheme
    previous = active_schemes([wave.id]).get(wave.id)
    try:
        db.session.execute(
            update(WeightingScheme)
            .where(WeightingScheme.wave_id == wave.id, WeightingScheme.is_active)
            .values(is_active=False)
        )
        scheme.is_active = True
        scheme.activated_at = utcnow()
        db.session.flush()
        _audit(
            "weighting.activate",
            wave,
            user,
            {
                **_described(scheme),
                "previous": _described(previous) if previous is not None else None,
            },
        )
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
        raise SchemeError(
            _("Another scheme was activated at the same moment; reload the page.")
        ) from None
    return scheme


def deactivate(wave: Wave, user: User) -> WeightingScheme | None:
    """Go back to the design weights: no scheme of the wave stays active."""
    previous = active_schemes([wave.id]).get(wave.id)
    if previous is None:
        return None
    previous.is_active = False
    _audit("weighting.deactivate", wave, user, _described(previous))
    db.session.commit()
    return previous


def _target(wave: Wave) -> str:
    """The audit log's target of a wave's scheme changes."""
    return f"wave:{wave.code}"


def _described(scheme: WeightingScheme) -> dict[str, Any]:
    return {"scheme_id": scheme.id, "name": scheme.name, "version": scheme.version}


def _audit(action: str, wave: Wave, user: User | None, details: dict[str, Any]) -> None:
    """Record a scheme change of ``wave``; ``user`` None is the command line (``system``)."""
    audit.record(
        action,
        user=user,
        username=audit.SYSTEM_ACTOR if user is None else None,
        target=_target(wave),
        details=details,
    )


@dataclass(frozen=True)
class SchemeRow:
    scheme: WeightingScheme
    created_by: str | None


def list_schemes(wave: Wave) -> list[SchemeRow]:
    query = (
        select(WeightingScheme, User.username)
        .outerjoin(User, User.id == WeightingScheme.created_by_id)
        .where(WeightingScheme.wave_id == wave.id)
        .order_by(WeightingScheme.created_at.desc(), WeightingScheme.id.desc())
    )
    return [SchemeRow(scheme, username) for scheme, username in db.session.execute(query)]


def history(wave: Wave, limit: int = 20) -> list[AuditLog]:
    """The wave's latest scheme changes from the audit log (who, when, what)."""
    return list(
        db.session.scalars(
            select(AuditLog)
            .where(AuditLog.action.startswith("weighting."), AuditLog.target == _target(wave))
            .order_by(AuditLog.at.desc(), AuditLog.id.desc())
            .limit(limit)
        )
    )


@dataclass(frozen=True)
class WaveRow:
    wave: Wave
    responses: int
    active: WeightingScheme | None


def waves_in_scope(user: User) -> list[WaveRow]:
    """The waves whose unit lies within the user's scope, newest first."""
    query = select(Wave).join(Unit, Unit.id == Wave.unit_id).order_by(Wave.start_date.desc())
    prefix = access.scope_prefix(user)
    if prefix is not None:
        query = query.where(Unit.path.startswith(prefix, autoescape=True))
    waves = list(db.session.scalars(query))
    ids = [w.id for w in waves]
    counts = dict(
        db.session.execute(
            select(Response.wave_id, func.count())
            .where(Response.wave_id.in_(ids))
            .group_by(Response.wave_id)
        ).all()
    )
    active = active_schemes(ids)
    return [WaveRow(w, int(counts.get(w.id, 0)), active.get(w.id)) for w in waves]
