"""The small-area model on the demo province: a wave by code, its communes, the model
switched on (REML, previous figures as covariate, smoothed variances), and which
communes' direct figures are hidden."""

from __future__ import annotations

from sqlalchemy import select

from survey_app.extensions import db
from survey_app.models import Unit, UnitKind, Wave
from survey_app.reporting.indices.compute import compute
from survey_app.reporting.indices.figures import DomainKey
from survey_app.reporting.small_area import publication, results


def wave(code: str) -> Wave:
    found = db.session.scalar(select(Wave).where(Wave.code == code))
    assert found is not None
    return found


def communes(w: Wave) -> list[Unit]:
    return list(
        db.session.scalars(
            select(Unit)
            .where(Unit.kind == UnitKind.COMMUNE, Unit.path.startswith(w.unit.path))
            .order_by(Unit.code)
        )
    )


def set_model(w: Wave, on: bool) -> None:
    """The model switched on or off: REML, the previous figures as covariate, smoothed
    sampling variances."""
    publication.set_switch(
        w,
        on,
        covariates=["previous"],
        method="reml",
        smooth_variances=True,
        uploaded=None,
        user=None,
    )


def switch_on(w: Wave) -> results.SmallAreaResult:
    """The model switched on; its published fit."""
    set_model(w, True)
    fit = publication.published(w)
    assert fit is not None
    return fit


def split(w: Wave) -> tuple[list[Unit], list[Unit]]:
    """The communes whose direct figure is hidden, and those whose is reportable."""
    units_ = communes(w)
    result = compute([w], units_)
    hidden = [u for u in units_ if not result.figure(DomainKey(u.id, w.id)).reportable]
    shown = [u for u in units_ if u not in hidden]
    return hidden, shown
