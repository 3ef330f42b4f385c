"""The per-wave switch (audited) and the published fit the pages show."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import select

from survey_app import access, audit
from survey_app.extensions import db
from survey_app.models import (
    SmallAreaSetting,
    Unit,
    User,
    Wave,
    WaveKind,
)
from survey_app.models._types import utcnow
from survey_app.reporting.small_area.fitting import estimate
from survey_app.reporting.small_area.results import SmallAreaResult, UploadedCovariates


def setting(wave: Wave) -> SmallAreaSetting | None:
    """The wave's small-area setting (None: never switched on)."""
    return db.session.get(SmallAreaSetting, wave.id)


def _from_setting(wave: Wave, row: SmallAreaSetting) -> SmallAreaResult:
    return estimate(
        wave,
        covariates=list(row.covariates),
        uploaded=UploadedCovariates.from_json(row.uploaded) if row.uploaded else None,
        method=row.method,
        smooth_variances=row.smooth_variances,
    )


def published(wave: Wave) -> SmallAreaResult | None:
    """The small-area fit a survey team switched on for ``wave``, else None.

    This is what pages that show commune figures call: where a commune's direct figure
    is not reportable they may show its :class:`CommuneEstimate` (``eblup``,
    ``ci_low``/``ci_high``, ``cv``, ``reportable``), labelled model-based. Raises as
    :func:`estimate` does (e.g. when a covariate's source wave has since gone).
    """
    row = setting(wave)
    if row is None or not row.enabled:
        return None
    return _from_setting(wave, row)


def set_switch(
    wave: Wave,
    enabled: bool,
    *,
    covariates: Sequence[str],
    method: str,
    smooth_variances: bool,
    uploaded: UploadedCovariates | None,
    user: User | None,
) -> SmallAreaSetting:
    """Switch small-area figures on (with this model) or off for ``wave``; audited.

    Switching on fits the model first, so a switched-on wave always has a model that
    fits; :class:`SmallAreaError` (nothing stored) otherwise. Commits.
    """
    if enabled:
        estimate(
            wave,
            covariates=covariates,
            uploaded=uploaded,
            method=method,
            smooth_variances=smooth_variances,
        )
    row = setting(wave)
    if row is None:
        row = SmallAreaSetting(wave_id=wave.id)
        db.session.add(row)
    row.enabled = enabled
    if enabled:
        row.method = method
        row.covariates = list(dict.fromkeys(covariates))
        row.smooth_variances = smooth_variances
        row.uploaded = uploaded.to_json() if uploaded is not None else None
    row.updated_by_id = user.id if user is not None else None
    row.updated_at = utcnow()
    details: dict[str, Any] = {"method": row.method, "covariates": ", ".join(row.covariates)}
    if enabled and uploaded is not None:
        details["file"] = uploaded.filename
    audit.record(
        "small_area.enable" if enabled else "small_area.disable",
        user=user,
        target=wave.code,
        details=details,
    )
    db.session.commit()
    return row


def field_waves_in_scope(user: User) -> list[tuple[Wave, bool]]:
    """The field waves the user may see, newest first, with their switch state."""
    query = (
        select(Wave)
        .join(Unit, Unit.id == Wave.unit_id)
        .where(Wave.kind == WaveKind.FIELD_SURVEY)
        .order_by(Wave.start_date.desc(), Wave.id.desc())
    )
    prefix = access.scope_prefix(user)
    if prefix is not None:
        query = query.where(Unit.path.startswith(prefix, autoescape=True))
    waves = list(db.session.scalars(query))
    on = set(
        db.session.scalars(
            select(SmallAreaSetting.wave_id).where(
                SmallAreaSetting.enabled.is_(True),
                SmallAreaSetting.wave_id.in_([w.id for w in waves]),
            )
        )
    )
    return [(w, w.id in on) for w in waves]
