"""The simulated demo: the press stories, as a documented simulation.

The simulation code below IS the documentation of the demo data. Nothing is typed in
as a result: each unit and wave has a true satisfaction rate, every answer is drawn
from the model below with a seeded generator, and every figure the platform shows is
estimated from those draws. Run ``flask demo seed --seed N`` for another draw.

The stories
-----------
1. Hoàng Mai town (Nghệ An): true satisfaction 45% (2017), 57.9% (May 2018) and
   77.2% (December 2018). Each wave is a stratified two-stage sample: the strata are
   the town's 10 wards and communes; in each, 4 residential groups (tổ dân phố, thôn)
   are drawn at random out of 8-14 (the PSUs), and 12 citizens who used the one-stop
   desk are interviewed in each group: 480 per wave. The design weight of a
   respondent is the commune's yearly transactions over its 48 interviews. The three
   waves are drawn independently, so they are declared independent samples (no
   ``panel_of``): group labels that repeat from one wave to the next are the same
   names, not the same sample, and changes between waves use a zero covariance.
   Their lonely-PSU rule is the default ``adjust``.
2. Quảng Ngãi province: the administrative-reform survey of 2021 and 2022 over 18
   provincial departments and 13 districts, a stratified random sample of 90 citizens
   per department and 110 per district. The true rates are evenly spaced (departments
   93% to 72%, districts 92% to 70%) and their order is a seeded permutation, except
   that the true ranks of the labour department (12th -> 2nd), the ICT department
   (16th -> 3rd) and Bình Sơn district (last -> 2nd) move as the press reported.
3. Thirty days of kiosk and phone feedback (up to the seeding day) at the Hoàng Mai
   desks and three Quảng Ngãi desks, Poisson daily volumes, one burst of identical
   answers flagged for the survey team, and one desk that stopped sending a week ago.

The response model
------------------
A unit's true rate ``p`` is the share of satisfied answers in its population. Within
a commune, group rates deviate from the commune's by a centred normal amount (sd 4
points), and commune rates from the town's by centred amounts (sd 5 points) whose
transaction-weighted mean is zero, so the town's true rate is exactly the stated one.
A respondent's own propensity is drawn from ``Beta(4 p, 4 (1 - p))`` (mean ``p``;
answers of one person are correlated, intra-person correlation 0.2) and each
five-level criterion is "satisfied" (level 4 or 5, in ratio 3:2) with that
propensity, otherwise level 1, 2 or 3 with probabilities 0.1, 0.3, 0.6. So every
criterion, every aspect and the overall index have expectation ``p``. Choice items
are uniform; optional items are skipped with probability 0.1; skip logic is obeyed.
"""

from __future__ import annotations

import secrets
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any

import numpy as np
from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import func, select

from survey_app import formatting
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
PROPENSITY_CONCENTRATION = 4.0


@dataclass(frozen=True)
class UnitSpec:
    code: str
    name_vi: str
    name_en: str
    kind: str
    parent: str
    transactions: int = 0  # per year, from the one-stop register


HOANG_MAI = (
    UnitSpec("NA", "Tỉnh Nghệ An", "Nghệ An province", "province", ""),
    UnitSpec("NA-HM", "Thị xã Hoàng Mai", "Hoàng Mai town", "district", "NA"),
    UnitSpec("HM-MH", "Phường Mai Hùng", "Mai Hùng ward", "commune", "NA-HM", 5200),
    UnitSpec("HM-QD", "Phường Quỳnh Dị", "Quỳnh Dị ward", "commune", "NA-HM", 3700),
    UnitSpec("HM-QP", "Phường Quỳnh Phương", "Quỳnh Phương ward", "commune", "NA-HM", 4600),
    UnitSpec("HM-QT", "Phường Quỳnh Thiện", "Quỳnh Thiện ward", "commune", "NA-HM", 5400),
    UnitSpec("HM-QX", "Phường Quỳnh Xuân", "Quỳnh Xuân ward", "commune", "NA-HM", 3500),
    UnitSpec("HM-QLi", "Xã Quỳnh Liên", "Quỳnh Liên commune", "commune", "NA-HM", 2200),
    UnitSpec("HM-QLa", "Xã Quỳnh Lập", "Quỳnh Lập commune", "commune", "NA-HM", 3100),
    UnitSpec("HM-QLo", "Xã Quỳnh Lộc", "Quỳnh Lộc commune", "commune", "NA-HM", 2900),
    UnitSpec("HM-QTr", "Xã Quỳnh Trang", "Quỳnh Trang commune", "commune", "NA-HM", 2000),
    UnitSpec("HM-QV", "Xã Quỳnh Vinh", "Quỳnh Vinh commune", "commune", "NA-HM", 2600),
)


@dataclass(frozen=True)
class WaveSpec:
    code: str
    name_vi: str
    name_en: str
    start: date
    end: date
    true_rate: float = 0.0


HOANG_MAI_WAVES = (
    WaveSpec(
        "HM-2017",
        "Khảo sát SIPAS năm 2017",
        "SIPAS survey 2017",
        date(2017, 10, 2),
        date(2017, 11, 30),
        0.45,
    ),
    WaveSpec(
        "HM-2018-05",
        "Khảo sát SIPAS tháng 5/2018",
        "SIPAS survey, May 2018",
        date(2018, 5, 2),
        date(2018, 5, 31),
        0.579,
    ),
    WaveSpec(
        "HM-2018-12",
        "Khảo sát SIPAS tháng 12/2018",
        "SIPAS survey, December 2018",
        date(2018, 12, 3),
        date(2018, 12, 28),
        0.772,
    ),
)
HM_GROUPS_SAMPLED = 4
HM_PER_GROUP = 12

QN_DEPARTMENTS = (
    ("SNV", "Sở Nội vụ", "Department of Home Affairs"),
    ("STP", "Sở Tư pháp", "Department of Justice"),
    ("SKHDT", "Sở Kế hoạch và Đầu tư", "Department of Planning and Investment"),
    ("STC", "Sở Tài chính", "Department of Finance"),
    ("SCT", "Sở Công Thương", "Department of Industry and Trade"),
    (
        "SNN",
        "Sở Nông nghiệp và Phát triển nông thôn",
        "Department of Agriculture and Rural Development",
    ),
    ("SGTVT", "Sở Giao thông vận tải", "Department of Transport"),
    ("SXD", "Sở Xây dựng", "Department of Construction"),
    ("STNMT", "Sở Tài nguyên và Môi trường", "Department of Natural Resources and Environment"),
    ("STTTT", "Sở Thông tin và Truyền thông", "Department of Information and Communications"),
    (
        "SLDTBXH",
        "Sở Lao động – Thương binh và Xã hội",
        "Department of Labour, Invalids and Social Affairs",
    ),
    ("SVHTTDL", "Sở Văn hóa, Thể thao và Du lịch", "Department of Culture, Sports and Tourism"),
    ("SKHCN", "Sở Khoa học và Công nghệ", "Department of Science and Technology"),
    ("SGDDT", "Sở Giáo dục và Đào tạo", "Department of Education and Training"),
    ("SYT", "Sở Y tế", "Department of Health"),
    ("SNGV", "Sở Ngoại vụ", "Department of Foreign Affairs"),
    ("TTT", "Thanh tra tỉnh", "Provincial Inspectorate"),
    (
        "BQLKKT",
        "Ban Quản lý Khu kinh tế Dung Quất và các Khu công nghiệp",
        "Dung Quất Economic Zone and Industrial Parks Authority",
    ),
)
QN_DISTRICTS = (
    ("TPQN", "Thành phố Quảng Ngãi", "Quảng Ngãi city"),
    ("TXDP", "Thị xã Đức Phổ", "Đức Phổ town"),
    ("BS", "Huyện Bình Sơn", "Bình Sơn district"),
    ("ST", "Huyện Sơn Tịnh", "Sơn Tịnh district"),
    ("TN", "Huyện Tư Nghĩa", "Tư Nghĩa district"),
    ("NH", "Huyện Nghĩa Hành", "Nghĩa Hành district"),
    ("MD", "Huyện Mộ Đức", "Mộ Đức district"),
    ("BT", "Huyện Ba Tơ", "Ba Tơ district"),
    ("ML", "Huyện Minh Long", "Minh Long district"),
    ("SH", "Huyện Sơn Hà", "Sơn Hà district"),
    ("STy", "Huyện Sơn Tây", "Sơn Tây district"),
    ("TB", "Huyện Trà Bồng", "Trà Bồng district"),
    ("LS", "Huyện Lý Sơn", "Lý Sơn district"),
)
QN_WAVES = (
    WaveSpec(
        "QN-2021",
        "Khảo sát sự hài lòng năm 2021",
        "Satisfaction survey 2021",
        date(2021, 9, 1),
        date(2021, 10, 31),
    ),
    WaveSpec(
        "QN-2022",
        "Khảo sát sự hài lòng năm 2022",
        "Satisfaction survey 2022",
        date(2022, 9, 1),
        date(2022, 10, 31),
    ),
)
# The press story: true ranks (1 = best) that the simulation must respect.
QN_FIXED_RANKS = {
    "QNG-SLDTBXH": (12, 2),
    "QNG-STTTT": (16, 3),
    "QNG-BS": (len(QN_DISTRICTS), 2),
}
QN_PER_DEPARTMENT = 90
QN_PER_DISTRICT = 110

FIELDS: tuple[tuple[str, str, str, str, tuple[tuple[str, str, str], ...]], ...] = (
    (
        "DD",
        "dat_dai",
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
        "tu_phap_ho_tich",
        "Tư pháp – Hộ tịch",
        "Justice and civil status",
        (
            ("HT01", "Đăng ký khai sinh", "Birth registration"),
            ("HT02", "Chứng thực bản sao từ bản chính", "Certified copies of originals"),
        ),
    ),
    (
        "XD",
        "xay_dung",
        "Xây dựng",
        "Construction",
        (("XD01", "Cấp giấy phép xây dựng nhà ở riêng lẻ", "Building permit for a private house"),),
    ),
    (
        "KD",
        "kinh_doanh",
        "Kinh doanh",
        "Business",
        (("KD01", "Đăng ký hộ kinh doanh", "Registering a household business"),),
    ),
    (
        "LD",
        "lao_dong_xa_hoi",
        "Lao động – Thương binh và Xã hội",
        "Labour, invalids and social affairs",
        (("LD01", "Giải quyết trợ cấp thất nghiệp", "Unemployment benefit"),),
    ),
)

KIOSK_DAYS = 30
KIOSK_DAILY_MEAN = 4.0
KIOSK_QN_UNITS = ("QNG-SLDTBXH", "QNG-STTTT", "QNG-BS")
STOPPED_DESK_UNIT = "HM-QTr"  # its kiosk stopped sending a week before seeding
BURST_DESK_UNIT = "HM-QD"  # one burst of eight identical answers in three minutes


def quang_ngai_units() -> tuple[UnitSpec, ...]:
    specs = [UnitSpec("QNG", "Tỉnh Quảng Ngãi", "Quảng Ngãi province", "province", "")]
    specs += [
        UnitSpec(f"QNG-{c}", vi, en, "department", "QNG", 6000) for c, vi, en in QN_DEPARTMENTS
    ]
    specs += [UnitSpec(f"QNG-{c}", vi, en, "district", "QNG", 9000) for c, vi, en in QN_DISTRICTS]
    return tuple(specs)


def database_is_empty() -> bool:
    return db.session.scalar(select(func.count()).select_from(Unit)) == 0


def seed(rng_seed: int, credentials_path: Path) -> list[str]:
    """Create the demo; every step skips what already exists."""
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
    report.extend(_seed_kiosk_feedback(qn_truth, rng))
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


# ----------------------------------------------------------------------------- answers


def simulate_answers(
    definition: spec.Questionnaire, p_unit: float, rng: np.random.Generator
) -> dict[str, Any]:
    """Draw one respondent's answers from the model in the module docstring."""
    p_own = rng.beta(PROPENSITY_CONCENTRATION * p_unit, PROPENSITY_CONCENTRATION * (1 - p_unit))
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
    """One answer to one item. Uses plain uniform draws (``rng.random()``) rather than
    ``rng.choice`` with probabilities, which is much slower per call."""
    if item.type in ("likert5", "smiley"):
        levels = item.scale_size or 5
        if rng.random() < p_own:
            return int(levels - 1 if rng.random() < 0.6 else levels)
        u = rng.random()
        if levels == 5:  # levels 1, 2, 3 with probabilities 0.1, 0.3, 0.6
            return 1 if u < 0.1 else (2 if u < 0.4 else 3)
        return 1 + int(u * (levels - 2))
    if item.type == "single":
        codes = item.option_codes
        return str(codes[int(rng.random() * len(codes))])
    if item.type == "multiple":
        codes = item.option_codes
        high = min(item.max_choices or 2, 2, len(codes))
        low = max(item.min_choices or 1, 1)
        count = low + int(rng.random() * (max(high, low) - low + 1))
        order = np.argsort(rng.random(len(codes)))[:count]
        return [str(codes[i]) for i in sorted(order)]
    if item.type == "number":
        low = int(np.ceil(item.min_value if item.min_value is not None else 0))
        high = int(
            min(np.floor(item.max_value if item.max_value is not None else low + 10), low + 10)
        )
        return low + int(rng.random() * (high - low + 1))
    return None  # free text stays empty in the demo


def _centred(rng: np.random.Generator, size: int, sd: float, weights: np.ndarray) -> np.ndarray:
    """Normal deviations whose ``weights``-weighted mean is exactly zero."""
    deviations = rng.normal(0.0, sd, size)
    return deviations - np.average(deviations, weights=weights)


# ----------------------------------------------------------------------------- Hoàng Mai


def _seed_hoang_mai(rng: np.random.Generator) -> list[str]:
    communes = [s for s in HOANG_MAI if s.parent == "NA-HM"]
    transactions = np.array([s.transactions for s in communes], dtype=float)
    commune_shift = _centred(rng, len(communes), 0.05, transactions)
    group_counts = rng.integers(8, 15, len(communes))
    group_shift = [_centred(rng, int(m), 0.04, np.ones(int(m))) for m in group_counts]
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
        report.append(
            _(
                "wave %(code)s: %(count)s responses simulated (true rate %(rate)s)",
                code=ws.code,
                count=formatting.number(count),
                rate=formatting.percent(ws.true_rate),
            )
        )
    return report


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
        moment = datetime.combine(ws.start, time(8, 0), tzinfo=UTC) + timedelta(
            days=int(rng.integers(0, days)), minutes=int(rng.integers(0, 600))
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


# ----------------------------------------------------------------------------- Quảng Ngãi


def quang_ngai_true_rates(rng: np.random.Generator) -> dict[str, tuple[float, float]]:
    """True rates per unit for 2021 and 2022, honouring :data:`QN_FIXED_RANKS`."""
    rates: dict[str, list[float]] = {}
    groups = (
        ([f"QNG-{c}" for c, _, _ in QN_DEPARTMENTS], np.linspace(0.93, 0.72, len(QN_DEPARTMENTS))),
        ([f"QNG-{c}" for c, _, _ in QN_DISTRICTS], np.linspace(0.92, 0.70, len(QN_DISTRICTS))),
    )
    for codes, levels in groups:
        for year in range(2):
            fixed = {code: ranks[year] for code, ranks in QN_FIXED_RANKS.items() if code in codes}
            free_codes = [c for c in codes if c not in fixed]
            free_ranks = [r for r in range(1, len(codes) + 1) if r not in fixed.values()]
            order = rng.permutation(len(free_codes))
            assigned = dict(fixed)
            assigned.update({free_codes[i]: free_ranks[j] for i, j in enumerate(order)})
            for code, rank in assigned.items():
                rates.setdefault(code, []).append(float(levels[rank - 1]))
    return {code: (values[0], values[1]) for code, values in rates.items()}


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
    qn_truth: dict[str, tuple[float, float]], rng: np.random.Generator
) -> list[str]:
    today = datetime.now(UTC).date()
    start = today - timedelta(days=KIOSK_DAYS - 1)
    hm_communes = [s for s in HOANG_MAI if s.parent == "NA-HM"]
    hm_rates = HOANG_MAI_WAVES[-1].true_rate + _centred(
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
        report.append(
            _(
                "wave %(code)s: %(count)s responses simulated",
                code=code,
                count=formatting.number(count),
            )
        )
    return report


def _kiosk_drafts(
    wave: Wave, start: date, unit_rates: list[tuple[str, float]], rng: np.random.Generator
) -> Iterator[responses.ResponseDraft]:
    definition = questionnaires.parsed(wave.questionnaire)
    unit_ids, desks = _unit_ids(), _desk_ids()
    for unit_code, rate in unit_rates:
        days = KIOSK_DAYS - 7 if unit_code == STOPPED_DESK_UNIT else KIOSK_DAYS
        for day in range(days):
            for i in range(int(rng.poisson(KIOSK_DAILY_MEAN))):
                moment = datetime.combine(start + timedelta(days=day), time(1, 0), tzinfo=UTC)
                moment += timedelta(minutes=int(rng.integers(0, 9 * 60)))
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
