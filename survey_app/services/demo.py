"""The simulated demo province. The simulation code below IS its documentation.

Nothing here is a typed-in result: every response is drawn from the model described
in :func:`simulate_answers`, with a seeded generator, and every figure the platform
shows for the demo is computed from those draws.

What is simulated
-----------------
- Nghệ An province with Hoàng Mai town (5 wards, 5 communes) and two provincial
  departments, each with a one-stop desk; a few procedure fields and procedures.
- A field survey (probability sample, SIPAS questionnaire) in December 2018:
  stratified by wards vs communes, each ward/commune a cluster (PSU), a fixed number
  of respondents per cluster, design weight = transactions of the cluster / sample size.
- Thirty days of continuous kiosk feedback (quick questionnaire) up to the seeding day,
  with a daily volume per desk drawn from a Poisson distribution.
- Accounts ``admin``, ``analyst`` and ``leader`` (scoped to Hoàng Mai town) with random
  passwords written to the instance folder, never to the repository.

The response model
------------------
Each unit has a true satisfaction probability ``p_u`` (below). A respondent's own
probability is ``logistic(logit(p_u) + e)`` with ``e ~ N(0, 0.8²)``, shared by all their
answers, so answers are correlated within a respondent as in real surveys. A
five-level item is "satisfied" (level 4 or 5, in ratio 3:2) with that probability,
otherwise level 1, 2 or 3 with probabilities 0.1, 0.3, 0.6. Choice items are uniform;
optional items are skipped with probability 0.1; skip logic is respected.
"""

from __future__ import annotations

import secrets
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any

import numpy as np
from flask import current_app
from sqlalchemy import func, select

from survey_app import questionnaire as spec
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
)
from survey_app.services import accounts, questionnaires, responses, units

DEMO_NAMESPACE = uuid.UUID("6f1c1e0a-3b9e-4c55-9a43-5d1f0f6a2b10")

# code, name_vi, name_en, kind, parent, true satisfaction, monthly transactions
UNITS: tuple[tuple[str, str, str, str, str, float, int], ...] = (
    ("NA", "Tỉnh Nghệ An", "Nghệ An province", "province", "", 0.0, 0),
    ("NA-HM", "Thị xã Hoàng Mai", "Hoàng Mai town", "district", "NA", 0.74, 900),
    ("HM-MH", "Phường Mai Hùng", "Mai Hùng ward", "commune", "NA-HM", 0.80, 420),
    ("HM-QD", "Phường Quỳnh Dị", "Quỳnh Dị ward", "commune", "NA-HM", 0.72, 310),
    ("HM-QP", "Phường Quỳnh Phương", "Quỳnh Phương ward", "commune", "NA-HM", 0.77, 380),
    ("HM-QT", "Phường Quỳnh Thiện", "Quỳnh Thiện ward", "commune", "NA-HM", 0.83, 450),
    ("HM-QX", "Phường Quỳnh Xuân", "Quỳnh Xuân ward", "commune", "NA-HM", 0.69, 290),
    ("HM-QLi", "Xã Quỳnh Liên", "Quỳnh Liên commune", "commune", "NA-HM", 0.66, 180),
    ("HM-QLa", "Xã Quỳnh Lập", "Quỳnh Lập commune", "commune", "NA-HM", 0.71, 260),
    ("HM-QLo", "Xã Quỳnh Lộc", "Quỳnh Lộc commune", "commune", "NA-HM", 0.75, 240),
    ("HM-QTr", "Xã Quỳnh Trang", "Quỳnh Trang commune", "commune", "NA-HM", 0.63, 170),
    ("HM-QV", "Xã Quỳnh Vinh", "Quỳnh Vinh commune", "commune", "NA-HM", 0.78, 220),
    ("NA-STP", "Sở Tư pháp", "Department of Justice", "department", "NA", 0.81, 700),
    (
        "NA-SLD",
        "Sở Lao động – Thương binh và Xã hội",
        "Department of Labour, Invalids and Social Affairs",
        "department",
        "NA",
        0.70,
        650,
    ),
)

FIELDS: tuple[tuple[str, str, str, tuple[tuple[str, str, str], ...]], ...] = (
    (
        "DD",
        "Đất đai",
        "Land",
        (
            (
                "DD01",
                "Đăng ký biến động quyền sử dụng đất",
                "Registering a change of land-use rights",
            ),
            (
                "DD02",
                "Cấp đổi giấy chứng nhận quyền sử dụng đất",
                "Replacing a land-use certificate",
            ),
        ),
    ),
    (
        "HT",
        "Tư pháp – Hộ tịch",
        "Justice and civil status",
        (
            ("HT01", "Đăng ký khai sinh", "Birth registration"),
            ("HT02", "Chứng thực bản sao từ bản chính", "Certified copies of originals"),
        ),
    ),
    (
        "XD",
        "Xây dựng",
        "Construction",
        (("XD01", "Cấp giấy phép xây dựng nhà ở riêng lẻ", "Building permit for a private house"),),
    ),
    (
        "LD",
        "Lao động – Thương binh và Xã hội",
        "Labour, invalids and social affairs",
        (("LD01", "Giải quyết trợ cấp thất nghiệp", "Unemployment benefit"),),
    ),
)

FIELD_SURVEY_PER_PSU = 40
KIOSK_DAILY_MEAN = 4.0
KIOSK_DAYS = 30


@dataclass(frozen=True)
class DemoUnit:
    code: str
    true_rate: float
    transactions: int


def database_is_empty() -> bool:
    return db.session.scalar(select(func.count()).select_from(Unit)) == 0


def seed(rng_seed: int, credentials_path: Path) -> list[str]:
    """Create the demo province; every step skips what already exists."""
    rng = np.random.default_rng(rng_seed)
    report = questionnaires.load_folder(Path(current_app.config["QUESTIONNAIRE_DIR"]))
    report.append(_seed_units())
    report.append(_seed_procedures())
    report.append(_seed_desks())
    report.append(_seed_users(credentials_path))
    report.append(_seed_field_survey(rng))
    report.append(_seed_kiosk_feedback(rng))
    return report


def _seed_units() -> str:
    rows = [
        {"code": c, "name_vi": vi, "name_en": en, "kind": kind, "parent_code": parent}
        for c, vi, en, kind, parent, _, _ in UNITS
    ]
    created, updated = units.import_units(rows)
    return f"units: {created} created, {updated} refreshed"


def _seed_procedures() -> str:
    created = 0
    for code, vi, en, procedures in FIELDS:
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
    return f"procedure fields: {created} created"


def _desk_code(unit_code: str) -> str:
    return "Q-" + unit_code


def _seed_desks() -> str:
    created = 0
    for code, vi, _, kind, _, _, _ in UNITS:
        if kind == UnitKind.PROVINCE.value:
            continue
        desk_code = _desk_code(code)
        if db.session.scalar(select(Desk).where(Desk.code == desk_code)) is None:
            unit_id = _unit_ids()[code]
            db.session.add(Desk(code=desk_code, unit_id=unit_id, name=f"Bộ phận một cửa – {vi}"))
            created += 1
    db.session.commit()
    return f"desks: {created} created"


def _seed_users(credentials_path: Path) -> str:
    wanted = (
        ("admin", Role.ADMIN, None),
        ("analyst", Role.ANALYST, None),
        ("leader", Role.LEADER, "NA-HM"),
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
    return f"users: {len(lines)} created (passwords in {credentials_path})"


def _demo_units(parent: str | None = None) -> list[DemoUnit]:
    return [
        DemoUnit(code, rate, transactions)
        for code, _, _, kind, par, rate, transactions in UNITS
        if kind != UnitKind.PROVINCE.value and (parent is None or par == parent)
    ]


def _unit_ids() -> dict[str, int]:
    return {u.code: u.id for u in db.session.scalars(select(Unit))}


def _ensure_wave(
    code: str,
    names: tuple[str, str],
    kind: WaveKind,
    slug: str,
    unit_code: str,
    start: date,
    end: date,
) -> Wave:
    wave = db.session.scalar(select(Wave).where(Wave.code == code))
    if wave is None:
        questionnaire = questionnaires.latest(slug)
        if questionnaire is None:
            raise LookupError(f"questionnaire {slug!r} is not loaded")
        wave = Wave(
            code=code,
            name_vi=names[0],
            name_en=names[1],
            kind=kind,
            questionnaire_id=questionnaire.id,
            unit_id=_unit_ids()[unit_code],
            start_date=start,
            end_date=end,
        )
        db.session.add(wave)
        db.session.commit()
    return wave


def _wave_has_responses(wave: Wave) -> bool:
    count = db.session.scalar(
        select(func.count()).select_from(Response).where(Response.wave_id == wave.id)
    )
    return bool(count)


def simulate_answers(
    definition: spec.Questionnaire, p_unit: float, rng: np.random.Generator
) -> dict[str, Any]:
    """Draw one respondent's answers from the model in the module docstring."""
    logit = np.log(p_unit / (1 - p_unit)) + rng.normal(0.0, 0.8)
    p_own = 1.0 / (1.0 + np.exp(-logit))
    answers: dict[str, Any] = {}
    for section in definition.sections:
        if section.show_if is not None and not section.show_if.matches(
            answers.get(section.show_if.item)
        ):
            continue
        for item in section.items:
            if item.show_if is not None and not item.show_if.matches(
                answers.get(item.show_if.item)
            ):
                continue
            if not item.required and rng.random() < 0.1:
                continue
            value = _draw(item, p_own, rng)
            if value is not None:
                answers[item.code] = value
    return answers


def _draw(item: spec.Item, p_own: float, rng: np.random.Generator) -> Any:
    if item.type in ("likert5", "smiley"):
        levels = item.scale_size or 5
        if rng.random() < p_own:
            top = [levels] if levels < 4 else [levels - 1, levels]
            return int(rng.choice(top, p=None if len(top) == 1 else [0.6, 0.4]))
        low = list(range(1, max(levels - 1, 2)))
        weights = np.array([0.1, 0.3, 0.6][-len(low) :] if len(low) <= 3 else [1.0] * len(low))
        return int(rng.choice(low, p=weights / weights.sum()))
    if item.type == "single":
        return str(rng.choice(item.option_codes))
    if item.type == "multiple":
        low = item.min_choices or 0
        high = min(item.max_choices or 2, 2, len(item.option_codes))
        count = int(rng.integers(max(low, 1), max(high, 1) + 1))
        return [str(c) for c in rng.choice(item.option_codes, size=count, replace=False)]
    if item.type == "number":
        low = item.min_value if item.min_value is not None else 0
        high = item.max_value if item.max_value is not None else low + 100
        return int(rng.integers(int(np.ceil(low)), int(np.floor(high)) + 1))
    return None  # free text stays empty in the demo


def _field_drafts(wave: Wave, rng: np.random.Generator) -> Iterator[responses.ResponseDraft]:
    definition = spec.Questionnaire.from_dict(wave.questionnaire.definition)
    unit_ids = _unit_ids()
    desks = {d.unit_id: d.id for d in db.session.scalars(select(Desk))}
    day = datetime.combine(wave.start_date, time(9, 0), tzinfo=UTC)
    for unit in _demo_units(parent="NA-HM"):
        stratum = "ward" if unit.code in WARDS else "commune"
        weight = unit.transactions * 12 / FIELD_SURVEY_PER_PSU
        for i in range(FIELD_SURVEY_PER_PSU):
            submitted = day + timedelta(days=int(rng.integers(0, 20)), minutes=int(i))
            yield responses.ResponseDraft(
                client_id=uuid.uuid5(DEMO_NAMESPACE, f"{wave.code}/{unit.code}/{i}"),
                questionnaire_id=wave.questionnaire_id,
                unit_id=unit_ids[unit.code],
                desk_id=desks.get(unit_ids[unit.code]),
                wave_id=wave.id,
                channel=Channel.FIELD,
                answers=simulate_answers(definition, unit.true_rate, rng),
                submitted_at=submitted,
                stratum=stratum,
                psu=unit.code,
                design_weight=weight,
            )


WARDS = frozenset({"HM-MH", "HM-QD", "HM-QP", "HM-QT", "HM-QX"})


def _seed_field_survey(rng: np.random.Generator) -> str:
    wave = _ensure_wave(
        "HM-2018-12",
        ("Khảo sát SIPAS tháng 12/2018", "SIPAS field survey, December 2018"),
        WaveKind.FIELD_SURVEY,
        "sipas",
        "NA-HM",
        date(2018, 12, 1),
        date(2018, 12, 31),
    )
    if _wave_has_responses(wave):
        return f"wave {wave.code}: already has responses"
    count = responses.store_many(_field_drafts(wave, rng))
    return f"wave {wave.code}: {count} responses simulated"


def _seed_kiosk_feedback(rng: np.random.Generator) -> str:
    today = datetime.now(UTC).date()
    start = today - timedelta(days=KIOSK_DAYS - 1)
    wave = _ensure_wave(
        f"KIOSK-{start:%Y%m}",
        ("Phản hồi tại quầy, 30 ngày gần đây", "Desk feedback, last 30 days"),
        WaveKind.CONTINUOUS_FEEDBACK,
        "kiosk_quick",
        "NA",
        start,
        today,
    )
    if _wave_has_responses(wave):
        return f"wave {wave.code}: already has responses"
    definition = spec.Questionnaire.from_dict(wave.questionnaire.definition)
    unit_ids = _unit_ids()
    desks = {d.unit_id: d.id for d in db.session.scalars(select(Desk))}
    drafts = []
    for unit in _demo_units():
        for day in range(KIOSK_DAYS):
            for i in range(int(rng.poisson(KIOSK_DAILY_MEAN))):
                moment = datetime.combine(start + timedelta(days=day), time(8, 0), tzinfo=UTC)
                moment += timedelta(minutes=int(rng.integers(0, 9 * 60)))
                channel = Channel.KIOSK if rng.random() < 0.7 else Channel.PHONE
                drafts.append(
                    responses.ResponseDraft(
                        client_id=uuid.uuid5(DEMO_NAMESPACE, f"{wave.code}/{unit.code}/{day}/{i}"),
                        questionnaire_id=wave.questionnaire_id,
                        unit_id=unit_ids[unit.code],
                        desk_id=desks.get(unit_ids[unit.code]),
                        wave_id=wave.id,
                        channel=channel,
                        answers=simulate_answers(definition, unit.true_rate, rng),
                        submitted_at=moment,
                        lang="vi" if rng.random() < 0.95 else "en",
                    )
                )
    count = responses.store_many(drafts)
    return f"wave {wave.code}: {count} responses simulated"
