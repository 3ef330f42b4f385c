"""Seeding the demo province through the services, from :mod:`survey_app.demo.model`.

See :mod:`survey_app.demo` for the stories and the model in words.
"""

from __future__ import annotations

import secrets
import uuid
from collections.abc import Iterator, Sequence
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any

import numpy as np
from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import exists, func, select

from survey_app import formatting
from survey_app.admin import accounts, units
from survey_app.collection import desks as desk_service
from survey_app.collection import questionnaires, responses
from survey_app.demo.model import (
    BURST_DESK_UNIT,
    DEMO_NAMESPACE,
    FIELD_DAY_MINUTES,
    FIELDS,
    HM_GROUPS_SAMPLED,
    HM_PER_GROUP,
    HOANG_MAI,
    HOANG_MAI_WAVES,
    KIOSK_DAILY_MEAN,
    KIOSK_DAY_MINUTES,
    KIOSK_DAYS,
    KIOSK_QN_UNITS,
    OPENING_UTC,
    QN_PER_DEPARTMENT,
    QN_PER_DISTRICT,
    QN_WAVES,
    STOPPED_DESK_UNIT,
    UnitSpec,
    WaveSpec,
    centred,
    quang_ngai_true_rates,
    quang_ngai_units,
    simulate_answers,
)
from survey_app.extensions import db
from survey_app.models import (
    Channel,
    Desk,
    Procedure,
    ProcedureField,
    Response,
    Role,
    Unit,
    UnitKind,
    User,
    Wave,
    WaveKind,
    WaveStatus,
)


def database_is_empty() -> bool:
    return db.session.scalar(select(func.count()).select_from(Unit)) == 0


def seed(rng_seed: int, credentials_path: Path, today: date | None = None) -> list[str]:
    """Create the demo; every step skips what already exists, on any later day too.

    ``today`` (by default the current UTC date) ends the simulated 30 days of kiosk
    feedback.
    """
    rng = np.random.default_rng(rng_seed)
    report = questionnaires.load_folder(Path(current_app.config["QUESTIONNAIRE_DIR"]))
    all_units = HOANG_MAI + quang_ngai_units()
    report.append(_seed_units(all_units))
    report.append(_seed_procedures())
    report.append(_seed_desks(all_units))
    report.append(_seed_users(credentials_path))
    qn_truth = quang_ngai_true_rates(rng)
    report.extend(_seed_hoang_mai(rng))
    report.extend(_seed_quang_ngai(qn_truth, rng))
    report.extend(_seed_kiosk_feedback(qn_truth, rng, today or datetime.now(UTC).date()))
    return report


def seed_hoang_mai(rng_seed: int) -> list[str]:
    """Only the Hoàng Mai story (its units, desks and three waves), for checks of the
    simulation with several seeds."""
    report = questionnaires.load_folder(Path(current_app.config["QUESTIONNAIRE_DIR"]))
    report.append(_seed_units(HOANG_MAI))
    report.append(_seed_desks(HOANG_MAI))
    report.extend(_seed_hoang_mai(np.random.default_rng(rng_seed)))
    return report


# ----------------------------------------------------------------------------- frame


def _seed_units(specs: Sequence[UnitSpec]) -> str:
    rows = [
        {
            "code": s.code,
            "name_vi": s.name_vi,
            "name_en": s.name_en,
            "kind": s.kind,
            "parent_code": s.parent,
        }
        for s in specs
    ]
    created, updated = units.import_units(rows)
    return _("units: %(created)s created, %(updated)s refreshed", created=created, updated=updated)


def _seed_procedures() -> str:
    created = 0
    for code, _answer, vi, en, procedures in FIELDS:
        field = db.session.scalar(select(ProcedureField).where(ProcedureField.code == code))
        if field is None:
            field = ProcedureField(code=code, name_vi=vi, name_en=en)
            db.session.add(field)
            db.session.flush()
            created += 1
        for p_code, p_vi, p_en in procedures:
            exists = db.session.scalar(
                select(Procedure).where(Procedure.field_id == field.id, Procedure.code == p_code)
            )
            if exists is None:
                db.session.add(
                    Procedure(code=p_code, name_vi=p_vi, name_en=p_en, field_id=field.id)
                )
    db.session.commit()
    return _("procedure fields: %(created)s created", created=created)


def desk_code(unit_code: str) -> str:
    return "Q-" + unit_code


def _seed_desks(specs: Sequence[UnitSpec]) -> str:
    created = 0
    ids = _unit_ids()
    for s in specs:
        if s.kind == UnitKind.PROVINCE.value or s.code == "NA-HM":
            continue
        code = desk_code(s.code)
        if db.session.scalar(select(Desk).where(Desk.code == code)) is None:
            db.session.add(
                Desk(code=code, unit_id=ids[s.code], name=f"Bộ phận một cửa – {s.name_vi}")
            )
            created += 1
    db.session.commit()
    return _("desks: %(created)s created", created=created)


def _seed_users(credentials_path: Path) -> str:
    wanted = (
        ("admin", Role.ADMIN, None),
        ("analyst", Role.ANALYST, None),
        ("leader", Role.LEADER, "NA-HM"),
        ("leader_qn", Role.LEADER, "QNG"),
    )
    lines = []
    for username, role, unit in wanted:
        if db.session.scalar(select(User).where(User.username == username)) is not None:
            continue
        password = secrets.token_urlsafe(9)
        accounts.create_user(username, password, role, unit)
        lines.append(f"{username} / {password}  ({role.value}{', ' + unit if unit else ''})")
    if lines:
        credentials_path.parent.mkdir(parents=True, exist_ok=True)
        with credentials_path.open("a", encoding="utf-8") as handle:
            handle.writelines(line + "\n" for line in lines)
        credentials_path.chmod(0o600)
    return _(
        "users: %(created)s created (passwords in %(path)s)",
        created=len(lines),
        path=credentials_path,
    )


def _unit_ids() -> dict[str, int]:
    return {u.code: u.id for u in db.session.scalars(select(Unit))}


def _desk_ids() -> dict[int, int]:
    return {d.unit_id: d.id for d in db.session.scalars(select(Desk))}


def _procedure_for_field() -> dict[str, int]:
    """The first procedure of each field, keyed by the SIPAS answer code of the field."""
    out = {}
    for _code, answer, _vi, _en, procedures in FIELDS:
        procedure = db.session.scalar(select(Procedure).where(Procedure.code == procedures[0][0]))
        if procedure is not None:
            out[answer] = procedure.id
    return out


def _ensure_wave(ws: WaveSpec, kind: WaveKind, slug: str, unit_code: str) -> tuple[Wave, bool]:
    """The wave, and whether it still needs responses."""
    wave = db.session.scalar(select(Wave).where(Wave.code == ws.code))
    if wave is None:
        questionnaire = questionnaires.latest(slug)
        if questionnaire is None:
            raise LookupError(f"questionnaire {slug!r} is not loaded")
        wave = Wave(
            code=ws.code,
            name_vi=ws.name_vi,
            name_en=ws.name_en,
            kind=kind,
            questionnaire_id=questionnaire.id,
            unit_id=_unit_ids()[unit_code],
            start_date=ws.start,
            end_date=ws.end,
        )
        db.session.add(wave)
        db.session.commit()
    count = db.session.scalar(
        select(func.count()).select_from(Response).where(Response.wave_id == wave.id)
    )
    return wave, not count


# ----------------------------------------------------------------------------- Hoàng Mai


def _seed_hoang_mai(rng: np.random.Generator) -> list[str]:
    communes = [s for s in HOANG_MAI if s.parent == "NA-HM"]
    transactions = np.array([s.transactions for s in communes], dtype=float)
    commune_shift = centred(rng, len(communes), 0.05, transactions)
    group_counts = rng.integers(8, 15, len(communes))
    group_shift = [centred(rng, int(m), 0.04, np.ones(int(m))) for m in group_counts]
    report = []
    for ws in HOANG_MAI_WAVES:
        wave, empty = _ensure_wave(ws, WaveKind.FIELD_SURVEY, "sipas", "NA-HM")
        if not empty:
            report.append(_("wave %(code)s: already has responses", code=ws.code))
            continue
        drafts = []
        for c, commune in enumerate(communes):
            groups = rng.choice(group_counts[c], size=HM_GROUPS_SAMPLED, replace=False)
            weight = commune.transactions / (HM_GROUPS_SAMPLED * HM_PER_GROUP)
            for g in groups:
                p_group = ws.true_rate + commune_shift[c] + group_shift[c][g]
                for i in range(HM_PER_GROUP):
                    drafts.append(
                        (commune.code, f"{commune.code}-T{g + 1:02d}", weight, p_group, f"{g}/{i}")
                    )
        count = responses.store_many(_field_drafts(wave, ws, drafts, rng))
        _close_after_fieldwork(wave, ws)
        report.append(
            _(
                "wave %(code)s: %(count)s responses simulated (true rate %(rate)s)",
                code=ws.code,
                count=formatting.number(count),
                rate=formatting.percent(ws.true_rate),
            )
        )
    return report


def _close_after_fieldwork(wave: Wave, ws: WaveSpec) -> None:
    """A simulated field survey is one whose fieldwork ended long ago: closed the day
    after its last day, as its survey team would have (its figures are final, and the
    alerts compare the last two closed waves)."""
    wave.status = WaveStatus.CLOSED
    wave.closed_at = datetime.combine(ws.end + timedelta(days=1), time(), tzinfo=UTC)
    db.session.commit()


def _field_drafts(
    wave: Wave,
    ws: WaveSpec,
    plan: list[tuple[str, str | None, float, float, str]],
    rng: np.random.Generator,
) -> Iterator[responses.ResponseDraft]:
    """Field-survey responses: (unit code, PSU or None, weight, true rate, key) each."""
    definition = questionnaires.parsed(wave.questionnaire)
    unit_ids, desks, procedures = _unit_ids(), _desk_ids(), _procedure_for_field()
    days = (ws.end - ws.start).days + 1
    for unit_code, psu, weight, p_true, key in plan:
        answers = simulate_answers(definition, float(np.clip(p_true, 0.02, 0.98)), rng)
        moment = datetime.combine(ws.start, OPENING_UTC, tzinfo=UTC) + timedelta(
            days=int(rng.integers(0, days)), minutes=int(rng.integers(0, FIELD_DAY_MINUTES))
        )
        yield responses.ResponseDraft(
            client_id=uuid.uuid5(DEMO_NAMESPACE, f"{ws.code}/{unit_code}/{key}"),
            questionnaire_id=wave.questionnaire_id,
            unit_id=unit_ids[unit_code],
            desk_id=desks.get(unit_ids[unit_code]),
            wave_id=wave.id,
            procedure_id=procedures.get(str(answers.get("field"))),
            channel=Channel.FIELD,
            answers=answers,
            submitted_at=moment,
            stratum=unit_code,
            psu=psu,
            design_weight=weight,
        )


def _seed_quang_ngai(truth: dict[str, tuple[float, float]], rng: np.random.Generator) -> list[str]:
    report = []
    for year, ws in enumerate(QN_WAVES):
        wave, empty = _ensure_wave(ws, WaveKind.FIELD_SURVEY, "sipas", "QNG")
        if not empty:
            report.append(_("wave %(code)s: already has responses", code=ws.code))
            continue
        plan = []
        for s in quang_ngai_units()[1:]:
            n = QN_PER_DEPARTMENT if s.kind == "department" else QN_PER_DISTRICT
            plan += [
                (s.code, None, s.transactions / n, truth[s.code][year], str(i)) for i in range(n)
            ]
        count = responses.store_many(_field_drafts(wave, ws, plan, rng))
        _close_after_fieldwork(wave, ws)
        report.append(
            _(
                "wave %(code)s: %(count)s responses simulated",
                code=ws.code,
                count=formatting.number(count),
            )
        )
    return report


# ----------------------------------------------------------------------------- kiosk


def _seed_kiosk_feedback(
    qn_truth: dict[str, tuple[float, float]], rng: np.random.Generator, today: date
) -> list[str]:
    start = today - timedelta(days=KIOSK_DAYS - 1)
    hm_communes = [s for s in HOANG_MAI if s.parent == "NA-HM"]
    hm_rates = HOANG_MAI_WAVES[-1].true_rate + centred(
        rng, len(hm_communes), 0.05, np.array([s.transactions for s in hm_communes], float)
    )
    plans = (
        (
            f"KIOSK-NA-{start:%Y%m%d}",
            "NA",
            "Nghệ An",
            [(s.code, float(r)) for s, r in zip(hm_communes, hm_rates, strict=True)],
        ),
        (
            f"KIOSK-QNG-{start:%Y%m%d}",
            "QNG",
            "Quảng Ngãi",
            [(code, qn_truth[code][1]) for code in KIOSK_QN_UNITS],
        ),
    )
    report = []
    for code, province, name, unit_rates in plans:
        # The wave is named by its first day: seeded on an earlier day, it has another
        # name, and seeding again must not simulate a second month over the first.
        earlier = _seeded_kiosk_wave(province)
        if earlier is not None:
            report.append(_("wave %(code)s: already has responses", code=earlier))
            continue
        ws = WaveSpec(
            code,
            f"Phản hồi tại quầy – {name}, 30 ngày",
            f"Desk feedback – {name}, 30 days",
            start,
            today,
        )
        wave, empty = _ensure_wave(ws, WaveKind.CONTINUOUS_FEEDBACK, "kiosk_quick", province)
        if not empty:
            report.append(_("wave %(code)s: already has responses", code=code))
            continue
        count = responses.store_many(_kiosk_drafts(wave, start, unit_rates, rng))
        _enrol_kiosks([unit_code for unit_code, _rate in unit_rates], start)
        report.append(
            _(
                "wave %(code)s: %(count)s responses simulated",
                code=code,
                count=formatting.number(count),
            )
        )
    return report


def _enrol_kiosks(unit_codes: list[str], start: date) -> None:
    """The desks whose kiosks the simulation had answering are enrolled, as the day
    before the feedback began: the desks page said "not enrolled" of desks that sent
    answers every day. Their tokens are not kept (no tablet of the demo needs one; an
    administrator enrols a real tablet with a new one)."""
    unit_ids = _unit_ids()
    ids = [unit_ids[code] for code in unit_codes]
    for desk in list(db.session.scalars(select(Desk).where(Desk.unit_id.in_(ids)))):
        desk_service.issue_token(desk.code)  # commits
        desk.token_issued_at = datetime.combine(start - timedelta(days=1), time(8, 0), tzinfo=UTC)
    db.session.commit()


def _seeded_kiosk_wave(province: str) -> str | None:
    """The code of the province's simulated kiosk feedback if it was seeded, any day."""
    return db.session.scalar(
        select(Wave.code)
        .where(
            Wave.kind == WaveKind.CONTINUOUS_FEEDBACK,
            Wave.code.startswith(f"KIOSK-{province}-", autoescape=True),
            exists().where(Response.wave_id == Wave.id),
        )
        .order_by(Wave.code)
        .limit(1)
    )


def _kiosk_drafts(
    wave: Wave, start: date, unit_rates: list[tuple[str, float]], rng: np.random.Generator
) -> Iterator[responses.ResponseDraft]:
    definition = questionnaires.parsed(wave.questionnaire)
    unit_ids, desks = _unit_ids(), _desk_ids()
    for unit_code, rate in unit_rates:
        days = KIOSK_DAYS - 7 if unit_code == STOPPED_DESK_UNIT else KIOSK_DAYS
        for day in range(days):
            for i in range(int(rng.poisson(KIOSK_DAILY_MEAN))):
                moment = datetime.combine(start + timedelta(days=day), OPENING_UTC, tzinfo=UTC)
                moment += timedelta(minutes=int(rng.integers(0, KIOSK_DAY_MINUTES)))
                yield _kiosk_draft(
                    wave,
                    unit_ids[unit_code],
                    desks[unit_ids[unit_code]],
                    f"{unit_code}/{day}/{i}",
                    moment,
                    simulate_answers(definition, rate, rng),
                    rng,
                )
        if unit_code == BURST_DESK_UNIT:
            burst_start = datetime.combine(
                start + timedelta(days=days // 2), time(3, 0), tzinfo=UTC
            )
            for i in range(8):
                yield _kiosk_draft(
                    wave,
                    unit_ids[unit_code],
                    desks[unit_ids[unit_code]],
                    f"{unit_code}/burst/{i}",
                    burst_start + timedelta(seconds=20 * i),
                    {"mood": 5},
                    rng,
                    flag="burst",
                )


def _kiosk_draft(
    wave: Wave,
    unit_id: int,
    desk_id: int,
    key: str,
    moment: datetime,
    answers: dict[str, Any],
    rng: np.random.Generator,
    flag: str | None = None,
) -> responses.ResponseDraft:
    return responses.ResponseDraft(
        client_id=uuid.uuid5(DEMO_NAMESPACE, f"{wave.code}/{key}"),
        questionnaire_id=wave.questionnaire_id,
        unit_id=unit_id,
        desk_id=desk_id,
        wave_id=wave.id,
        channel=Channel.KIOSK if rng.random() < 0.7 else Channel.PHONE,
        answers=answers,
        submitted_at=moment,
        started_at=moment - timedelta(seconds=int(rng.integers(15, 90))),
        lang="vi" if rng.random() < 0.95 else "en",
        flag_reason=flag,
    )
