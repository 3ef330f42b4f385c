"""Survey rounds: field-survey waves created by the survey team, and feedback periods.

Two kinds of wave (``models.collection``):

- A **field survey wave** is created by the survey team (page ``/analyst/waves/`` or
  ``flask waves create``) with its questionnaire, dates, the unit it covers and its
  design: the lonely-PSU rule, whether it is a panel of an earlier wave, and the
  sample frame (strata, PSUs and, where known, each stratum's number of PSUs in the
  population). The design is declared, never inferred from labels that repeat. A
  closed wave accepts no more answers.
- A **feedback period** groups continuous kiosk and phone answers. A unit's
  *feedback series* says whether periods are months or quarters; the period wave is
  created the first time an answer falls into it (:func:`ensure_feedback_period`), so
  no answer is ever stored without a period. Without a series anywhere above the
  desk, a monthly series of the top unit of the desk's hierarchy is created.

Every change is recorded in the audit log.
"""

from __future__ import annotations

import calendar
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date

from flask_babel import gettext as _
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from survey_app import access, audit, formatting, spreadsheets
from survey_app.access import can_see_unit, overlaps_scope
from survey_app.collection import questionnaires as questionnaire_service
from survey_app.extensions import db
from survey_app.models import (
    FeedbackPeriod,
    FeedbackSeries,
    LonelyPSU,
    Questionnaire,
    Response,
    Unit,
    User,
    Wave,
    WaveFrameUnit,
    WaveKind,
    WaveStatus,
)
from survey_app.models._types import utcnow

CODE_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,31}$")
FRAME_COLUMNS = ("stratum", "psu")
FRAME_OPTIONAL = ("unit_code", "stratum_psus")
FRAME_MAX_BYTES = 2 * 1024 * 1024
FRAME_LIMITS = spreadsheets.Limits(
    rows=20_000, columns=10, cell_chars=200, max_bytes=FRAME_MAX_BYTES
)
LABEL_PATTERN = re.compile(r"^[^\x00-\x1f\x7f-\x9f\ud800-\udfff]{1,64}$")


class WaveError(ValueError):
    """A wave cannot be created or changed; ``problems`` lists every reason."""

    def __init__(self, problems: Sequence[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = list(problems)


@dataclass(frozen=True)
class FrameRow:
    stratum: str
    psu: str
    unit_code: str | None = None
    stratum_psus: int | None = None


@dataclass
class Frame:
    """A parsed sample frame, with warnings the survey team should see before storing."""

    rows: list[FrameRow] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    @property
    def strata(self) -> int:
        return len({row.stratum for row in self.rows})


@dataclass(frozen=True)
class WaveSummary:
    wave: Wave
    responses: int
    strata: int
    psus: int


# ----------------------------------------------------------------------------- frame


def _frame_error(row: int, column: str, message: str) -> str:
    return _("Row %(row)s, column %(column)s: %(message)s", row=row, column=column, message=message)


def read_frame_or_problems(content: bytes | None) -> tuple[Frame | None, list[str]]:
    """:func:`read_frame`, with its problems returned instead of raised (no file: None)."""
    if content is None:
        return None, []
    try:
        return read_frame(content), []
    except WaveError as error:
        return None, error.problems


def read_frame(content: bytes) -> Frame:
    """Parse a sample-frame CSV: ``stratum,psu[,unit_code][,stratum_psus]``.

    Read by the shared bounded reader (:mod:`survey_app.spreadsheets`:
    comma, semicolon or tab separated, UTF-8 with or without BOM, size, row and cell
    limits, control characters refused by cell). Every problem is named by row and
    column; a stratum with a single PSU is a warning (its variance needs the wave's
    lonely-PSU rule), and a stated ``stratum_psus`` smaller than the PSUs sampled in
    the stratum is an error.
    """
    if len(content) > FRAME_MAX_BYTES:
        raise WaveError([_("The sample frame is larger than 2 MB.")])
    try:
        table = spreadsheets.read_sheet(content, "frame.csv", FRAME_LIMITS)
    except spreadsheets.SpreadsheetError as error:
        raise WaveError([str(problem) for problem in error.problems]) from error
    header = [str(name).strip().lower() for name in (table[0] if table else [])]
    problems = [
        _frame_error(1, column, _("column is missing"))
        for column in FRAME_COLUMNS
        if column not in header
    ]
    if problems:
        raise WaveError(problems)
    frame = Frame()
    seen: set[tuple[str, str]] = set()
    declared: dict[str, int] = {}
    for number, values in enumerate(table[1:], start=2):
        if not any(str(value).strip() for value in values):
            continue
        record = dict(zip(header, (str(value).strip() for value in values), strict=False))
        row_problems = _frame_row_problems(number, record)
        if row_problems:
            problems.extend(row_problems)
            continue
        stratum, psu = record["stratum"], record["psu"]
        if (stratum, psu) in seen:
            problems.append(_frame_error(number, "psu", _("this PSU is listed twice")))
            continue
        seen.add((stratum, psu))
        total = int(record["stratum_psus"]) if record.get("stratum_psus") else None
        if total is not None and declared.setdefault(stratum, total) != total:
            problems.append(
                _frame_error(
                    number, "stratum_psus", _("differs from an earlier row of the stratum")
                )
            )
        frame.rows.append(FrameRow(stratum, psu, record.get("unit_code") or None, total))
    sampled = Counter(row.stratum for row in frame.rows)
    for stratum, total in declared.items():
        if total < sampled[stratum]:
            problems.append(
                _(
                    "Stratum %(stratum)s: %(total)s PSUs in the population but %(n)s sampled.",
                    stratum=stratum,
                    total=formatting.number(total),
                    n=formatting.number(sampled[stratum]),
                )
            )
    if problems:
        raise WaveError(problems)
    if not frame.rows:
        raise WaveError([_("The sample frame lists no PSU.")])
    frame.warnings = [
        _(
            "Stratum %(stratum)s has a single PSU: its variance follows the wave's "
            "lonely-PSU rule.",
            stratum=stratum,
        )
        for stratum, n in sorted(sampled.items())
        if n == 1
    ]
    return frame


def _frame_row_problems(number: int, record: dict[str, str]) -> list[str]:
    problems = []
    for column in FRAME_COLUMNS:
        value = record.get(column, "")
        if not value:
            problems.append(_frame_error(number, column, _("is empty")))
        elif not LABEL_PATTERN.match(value):
            problems.append(
                _frame_error(
                    number, column, _("must be 1 to 64 characters without control characters")
                )
            )
    unit_code = record.get("unit_code", "")
    if unit_code and not CODE_PATTERN.match(unit_code):
        problems.append(_frame_error(number, "unit_code", _("is not a unit code")))
    total = record.get("stratum_psus", "")
    if total and not (total.isascii() and total.isdigit() and 0 < int(total) <= 10_000_000):
        problems.append(
            _frame_error(number, "stratum_psus", _("must be a whole number from 1 to 10,000,000"))
        )
    return problems


# ----------------------------------------------------------------------------- field waves


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


def _unit(code: str, user: User | None) -> Unit:
    unit = db.session.scalar(select(Unit).where(Unit.code == code))
    if unit is None or (user is not None and not can_see_unit(user, unit)):
        raise WaveError([_("No unit with code %(code)s in your scope.", code=code)])
    return unit


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


def get_wave(code: str, user: User | None = None) -> Wave | None:
    """The wave with this code, if the user may see it (any wave without a user)."""
    return access.wave_for(user, code)


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
    ``frame_problems`` are those :func:`read_frame` found in an uploaded frame, so
    that every problem is reported at once as a :class:`WaveError`.
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
        unit = _unit(unit_code, user)
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


def _counts(wave_ids: list[int] | None = None) -> dict[int, tuple[int, int, int]]:
    """Responses, strata and PSUs (distinct stratum and PSU pairs) per wave."""
    query = (
        select(
            Response.wave_id,
            func.count(),
            func.count(func.distinct(Response.stratum)),
            func.count(func.distinct(Response.stratum + "|" + Response.psu)),
        )
        .where(Response.wave_id.is_not(None))
        .group_by(Response.wave_id)
    )
    if wave_ids is not None:
        query = query.where(Response.wave_id.in_(wave_ids))
    return {wave_id: (n, strata, psus) for wave_id, n, strata, psus in db.session.execute(query)}


def summary(wave: Wave) -> WaveSummary:
    """One wave with its response, stratum and PSU counts."""
    return WaveSummary(wave, *_counts([wave.id]).get(wave.id, (0, 0, 0)))


def visible_waves(user: User | None = None) -> list[Wave]:
    """Every wave the user may see (all without a user), newest first."""
    waves = db.session.scalars(select(Wave).order_by(Wave.start_date.desc(), Wave.code))
    return [wave for wave in waves if user is None or overlaps_scope(user, wave.unit)]


def list_waves(user: User | None = None) -> list[WaveSummary]:
    """Every wave the user may see, newest first, with response and PSU counts."""
    counts = _counts()
    return [WaveSummary(w, *counts.get(w.id, (0, 0, 0))) for w in visible_waves(user)]


def lonely_rule_text(rule: LonelyPSU) -> str:
    """What a wave's lonely-PSU rule does, in words (the wave form's texts)."""
    return {
        LonelyPSU.ADJUST: _("adjust: centre the lonely PSU at the overall mean (R's adjust)"),
        LonelyPSU.AVERAGE: _("average: the average variance of the other strata"),
        LonelyPSU.REMOVE: _("remove: the stratum adds no variance"),
        LonelyPSU.CERTAINTY: _("certainty: the PSU was taken with certainty"),
        LonelyPSU.FAIL: _("fail: no figure until the design is corrected"),
    }.get(LonelyPSU(rule), str(rule))


def stratum_psus(wave: Wave) -> dict[str, int]:
    """The number of PSUs in each stratum's population, from the wave's sample frame
    (strata whose frame rows state one number; others are unknown)."""
    found: dict[str, set[int]] = {}
    for stratum, count in db.session.execute(
        select(WaveFrameUnit.stratum, WaveFrameUnit.stratum_psus).where(
            WaveFrameUnit.wave_id == wave.id, WaveFrameUnit.stratum_psus.is_not(None)
        )
    ):
        found.setdefault(stratum, set()).add(int(count))
    return {stratum: counts.pop() for stratum, counts in found.items() if len(counts) == 1}


def panel_pair(first: Wave, second: Wave) -> bool:
    """Whether two waves are declared a panel (one follows the other, directly or not)."""

    def chain(wave: Wave) -> set[int]:
        ids, current = set(), wave
        while current.panel_of_id is not None and current.panel_of_id not in ids:
            ids.add(current.panel_of_id)
            current = db.session.get(Wave, current.panel_of_id)  # type: ignore[assignment]
            if current is None:
                break
        return ids

    return first.id in chain(second) or second.id in chain(first)


# ----------------------------------------------------------------------------- feedback periods


def set_feedback_series(
    unit_code: str,
    questionnaire_slug: str,
    period: str,
    user: User | None = None,
) -> FeedbackSeries:
    """Group a unit's continuous feedback into months or quarters; audited.

    Periods that already exist keep their dates; the rule applies to periods created
    from now on.
    """
    problems = []
    if period not in {p.value for p in FeedbackPeriod}:
        problems.append(_("The period must be month or quarter."))
    unit = None
    try:
        unit = _unit(unit_code, user)
    except WaveError as error:
        problems.extend(error.problems)
    if questionnaire_service.latest(questionnaire_slug) is None:
        problems.append(_("No questionnaire %(name)s is loaded.", name=questionnaire_slug))
    if problems or unit is None:
        raise WaveError(problems)
    series = db.session.scalar(
        select(FeedbackSeries).where(
            FeedbackSeries.unit_id == unit.id,
            FeedbackSeries.questionnaire_slug == questionnaire_slug,
        )
    )
    if series is None:
        series = FeedbackSeries(unit_id=unit.id, questionnaire_slug=questionnaire_slug)
        db.session.add(series)
    series.period = FeedbackPeriod(period)
    audit.record(
        "feedback.series",
        user=user,
        target=unit.code,
        details={"questionnaire": questionnaire_slug, "period": period},
    )
    db.session.commit()
    return series


def list_series(user: User | None = None) -> list[FeedbackSeries]:
    rows = db.session.scalars(select(FeedbackSeries).order_by(FeedbackSeries.id))
    return [row for row in rows if user is None or overlaps_scope(user, row.unit)]


def period_bounds(period: FeedbackPeriod, day: date) -> tuple[date, date, str]:
    """First and last day of the period containing ``day``, and its label (2026-12, 2026Q4)."""
    if period == FeedbackPeriod.QUARTER:
        quarter = (day.month - 1) // 3
        first = date(day.year, 3 * quarter + 1, 1)
        last_month = 3 * quarter + 3
        last = date(day.year, last_month, calendar.monthrange(day.year, last_month)[1])
        return first, last, f"{day.year}Q{quarter + 1}"
    first = date(day.year, day.month, 1)
    last = date(day.year, day.month, calendar.monthrange(day.year, day.month)[1])
    return first, last, f"{day.year}-{day.month:02d}"


def _series_for(unit: Unit, slug: str) -> FeedbackSeries:
    """The series of the nearest unit at or above ``unit``; a monthly one at the top if none."""
    ancestor_ids = [int(part) for part in unit.path.strip("/").split("/") if part]
    found = db.session.execute(
        select(FeedbackSeries, func.length(Unit.path))
        .join(Unit, Unit.id == FeedbackSeries.unit_id)
        .where(
            FeedbackSeries.unit_id.in_(ancestor_ids or [unit.id]),
            FeedbackSeries.questionnaire_slug == slug,
        )
        .order_by(func.length(Unit.path).desc())
        .limit(1)
    ).first()
    if found is not None:
        return found[0]
    top = ancestor_ids[0] if ancestor_ids else unit.id
    series = FeedbackSeries(unit_id=top, questionnaire_slug=slug, period=FeedbackPeriod.MONTH)
    db.session.add(series)
    audit.record(
        "feedback.series",
        username=audit.SYSTEM_ACTOR,
        target=db.session.get(Unit, top).code,  # type: ignore[union-attr]
        details={"questionnaire": slug, "period": FeedbackPeriod.MONTH.value, "automatic": True},
    )
    db.session.flush()
    return series


def _period_names(series: FeedbackSeries, first: date, label: str) -> tuple[str, str]:
    unit = series.unit
    if series.period == FeedbackPeriod.QUARTER:
        quarter = label[-1]
        vi = f"Phản hồi thường xuyên, {unit.name_vi}, quý {quarter}/{first.year}"
        en = f"Continuous feedback, {unit.name_en}, Q{quarter} {first.year}"
    else:
        vi = f"Phản hồi thường xuyên, {unit.name_vi}, tháng {first.month}/{first.year}"
        en = f"Continuous feedback, {unit.name_en}, {first:%B %Y}"
    return vi[:200], en[:200]


def _open_period(unit: Unit, questionnaire: Questionnaire, day: date) -> int:
    series = _series_for(unit, questionnaire.slug)
    first, last, label = period_bounds(series.period, day)
    code = f"FB{series.id}-{questionnaire.id}-{label}"
    existing = db.session.scalar(select(Wave.id).where(Wave.code == code))
    if existing is None:
        name_vi, name_en = _period_names(series, first, label)
        wave = Wave(
            code=code,
            name_vi=name_vi,
            name_en=name_en,
            kind=WaveKind.CONTINUOUS_FEEDBACK,
            questionnaire_id=questionnaire.id,
            unit_id=series.unit_id,
            start_date=first,
            end_date=last,
            status=WaveStatus.OPEN,
            lonely_psu=series.lonely_psu,
            series_id=series.id,
        )
        db.session.add(wave)
        db.session.flush()
        existing = wave.id
    db.session.commit()
    return existing


def ensure_feedback_period(unit_id: int, questionnaire_id: int, day: date) -> int:
    """The id of the feedback period wave for an answer at ``unit_id`` on ``day``.

    Creates the series (monthly, at the top unit) and the period wave when they do
    not exist yet, and commits them at once so that every worker sees the same
    period; two workers creating the same period at once meet on the unique wave
    code, and the loser reads the winner's row.
    """
    unit = db.session.get(Unit, unit_id)
    questionnaire = db.session.get(Questionnaire, questionnaire_id)
    if unit is None or questionnaire is None:
        raise LookupError("unknown unit or questionnaire")
    for _attempt in range(3):
        try:
            return _open_period(unit, questionnaire, day)
        except IntegrityError:  # another worker created the series or the period first
            db.session.rollback()
    raise RuntimeError(f"could not create the feedback period for unit {unit_id} on {day}")
