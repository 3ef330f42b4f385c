"""The demo's kiosk feedback wave made uncomputable, as a figure that has a reason to be
missing: a new desk of ward HM-QD that sent answers on a single day (a stratum with one
PSU, desk x day clusters) under the lonely-PSU rule "fail" (R's default)."""

from __future__ import annotations

from sqlalchemy import select

from survey_app.extensions import db
from survey_app.models import Desk, LonelyPSU, Response, Unit, Wave, WaveKind
from survey_app.reporting import figure_store


def one_day_desk_under_fail_rule() -> tuple[Wave, Unit]:
    """Move one of Hoàng Mai's kiosk answers to a new desk and set the wave's rule to
    "fail"; the wave and the desk's ward, not yet committed."""
    wave = db.session.scalars(
        select(Wave).where(
            Wave.kind == WaveKind.CONTINUOUS_FEEDBACK, Wave.code.startswith("KIOSK-NA")
        )
    ).one()
    ward = db.session.scalar(select(Unit).where(Unit.code == "HM-QD"))
    assert ward is not None
    desk = Desk(code="HM-QD-NEW", name="Quầy mới", unit_id=ward.id)
    db.session.add(desk)
    db.session.flush()
    response = db.session.scalars(
        select(Response).where(Response.wave_id == wave.id, Response.flagged.is_(False)).limit(1)
    ).one()
    # The demo's responses are folded: the figure store forgets the wave's sums before
    # the row changes, as the app does before a folded response's flag changes.
    figure_store.unfold_responses([response.id])
    response.desk_id = desk.id
    wave.lonely_psu = LonelyPSU.FAIL
    return wave, ward
