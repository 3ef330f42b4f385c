"""Field-survey waves: created by the survey team with their declared design (the
lonely-PSU rule, the panel they follow, the sample frame), their frame replaced, and
closed; every change audited."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

from flask_babel import gettext as _
from sqlalchemy import select

from survey_app import audit
from survey_app.collection import questionnaires as questionnaire_service
from survey_app.collection.waves.errors import WaveError
from survey_app.collection.waves.lookups import find_unit, get_wave
from survey_app.collection.waves.sample_frame import CODE_PATTERN, Frame
from survey_app.extensions import db
from survey_app.models import (
    LonelyPSU,
    Questionnaire,
    Unit,
    User,
    Wave,
    WaveFrameUnit,
    WaveKind,
    WaveStatus,
)
from survey_app.models._types import utcnow


def _frame_units(frame: Frame, area: Unit) -> tuple[list[WaveFrameUnit], list[str]]:
    """The frame's rows to store, and a problem for each unit code outside ``area``."""
    codes = sorted({row.unit_code for row in frame.rows if row.unit_code})
    found = {
        unit.code: unit
        for unit in db.session.scalars(select(Unit).where(Unit.code.in_(codes)))
        if unit.path.startswith(area.path)
    }
    problems = [
        _("Sample frame: unit %(code)s is not inside the wave's unit.", code=code)
        for code in codes
        if code not in found
    ]
    rows = [
        WaveFrameUnit(
            stratum=row.stratum,
            psu=row.psu,
            unit_id=found[row.unit_code].id if row.unit_code in found else None,
            stratum_psus=row.stratum_psus,
        )
        for row in frame.rows
    ]
    return rows, problems


def _questionnaire(name: str) -> Questionnaire:
    """``slug`` (latest version) or ``slug:version``."""
    slug, _sep, version = name.partition(":")
    if version:
        row = (
            questionnaire_service.get(slug, int(version))
            if version.isascii() and version.isdigit() and len(version) < 7
            else None
        )
    else:
        row = questionnaire_service.latest(slug)
    if row is None:
        raise WaveError([_("No questionnaire %(name)s is loaded.", name=name)])
    return row


def create_field_wave(
    *,
    code: str,
    name_vi: str,
    name_en: str,
    questionnaire: str,
    unit_code: str,
    start: date,
    end: date,
    lonely_psu: str = LonelyPSU.ADJUST.value,
    panel_of: str | None = None,
    frame: Frame | None = None,
    frame_problems: Sequence[str] = (),
    user: User | None = None,
) -> Wave:
    """Create a field-survey wave with its declared design; audited.

    ``user`` limits the unit (and the earlier wave of a panel) to the user's scope.
    ``frame_problems`` are those :func:`.sample_frame.read_frame` found in an uploaded frame, so
    that every problem is reported at once as a :class:`.errors.WaveError`.
    """
    problems: list[str] = list(frame_problems)
    if not CODE_PATTERN.match(code):
        problems.append(_("The code must be 1 to 32 letters, digits, dots, dashes or underscores."))
    elif db.session.scalar(select(Wave.id).where(Wave.code == code)) is not None:
        problems.append(_("A wave with code %(code)s already exists.", code=code))
    for name in (name_vi, name_en):
        if not name.strip() or len(name) > 200:
            problems.append(_("Each name must be 1 to 200 characters."))
            break
    if end < start:
        problems.append(_("The end date is before the start date."))
    if lonely_psu not in {rule.value for rule in LonelyPSU}:
        problems.append(_("Unknown lonely-PSU rule %(rule)s.", rule=lonely_psu))
    unit = questionnaire_row = earlier = None
    try:
        unit = find_unit(unit_code, user)
    except WaveError as error:
        problems.extend(error.problems)
    try:
        questionnaire_row = _questionnaire(questionnaire)
    except WaveError as error:
        problems.extend(error.problems)
    if panel_of:
        earlier = get_wave(panel_of, user)
        if earlier is None or earlier.kind != WaveKind.FIELD_SURVEY:
            problems.append(_("No field survey wave %(code)s to follow as a panel.", code=panel_of))
        elif earlier.start_date >= start:
            problems.append(
                _("A panel follows an earlier wave: %(code)s starts later.", code=panel_of)
            )
    frame_rows: list[WaveFrameUnit] = []
    if frame is not None and unit is not None:
        frame_rows, outside = _frame_units(frame, unit)
        problems.extend(outside)
    if problems or unit is None or questionnaire_row is None:
        raise WaveError(problems)
    wave = Wave(
        code=code,
        name_vi=name_vi.strip(),
        name_en=name_en.strip(),
        kind=WaveKind.FIELD_SURVEY,
        questionnaire_id=questionnaire_row.id,
        unit_id=unit.id,
        start_date=start,
        end_date=end,
        status=WaveStatus.OPEN,
        lonely_psu=LonelyPSU(lonely_psu),
        panel_of_id=earlier.id if earlier is not None else None,
    )
    wave.frame = frame_rows
    db.session.add(wave)
    audit.record(
        "wave.create",
        user=user,
        target=code,
        details={
            "questionnaire": f"{questionnaire_row.slug} v{questionnaire_row.version}",
            "unit": unit.code,
            "start": start.isoformat(),
            "end": end.isoformat(),
            "lonely_psu": lonely_psu,
            "panel_of": panel_of,
            "frame_psus": len(frame.rows) if frame is not None else 0,
        },
    )
    db.session.commit()
    return wave


def replace_frame(wave: Wave, frame: Frame, user: User | None = None) -> None:
    """Replace the sample frame of an open field wave; audited."""
    if wave.kind != WaveKind.FIELD_SURVEY:
        raise WaveError([_("Only a field survey wave has a sample frame.")])
    if wave.status == WaveStatus.CLOSED:
        raise WaveError([_("Wave %(code)s is closed.", code=wave.code)])
    rows, problems = _frame_units(frame, wave.unit)
    if problems:
        raise WaveError(problems)
    wave.frame = []
    db.session.flush()
    wave.frame = rows
    audit.record("wave.frame", user=user, target=wave.code, details={"frame_psus": len(rows)})
    db.session.commit()


def close_wave(code: str, user: User | None = None) -> Wave:
    """Close a wave: no more answers are accepted into it; audited."""
    wave = get_wave(code, user)
    if wave is None:
        raise WaveError([_("No wave %(code)s in your scope.", code=code)])
    if wave.kind != WaveKind.FIELD_SURVEY:
        raise WaveError([_("A feedback period ends with its dates; only a field wave is closed.")])
    if wave.status == WaveStatus.CLOSED:
        raise WaveError([_("Wave %(code)s is already closed.", code=code)])
    wave.status = WaveStatus.CLOSED
    wave.closed_at = utcnow()
    audit.record("wave.close", user=user, target=code)
    db.session.commit()
    return wave
