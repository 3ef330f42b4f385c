"""The demo's population and response model: units, waves, true rates, answers.

See :mod:`survey_app.demo` for the stories and the model in words.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, time
from typing import Any

import numpy as np

from survey_app.collection import questionnaire as spec

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

#: When the simulated desks open and interviewers start, in UTC: 08:00 in Vietnam
#: (UTC+7). Field interviews run until 18:00, kiosk answers until 17:00 local time.
OPENING_UTC = time(1, 0)
FIELD_DAY_MINUTES = 10 * 60
KIOSK_DAY_MINUTES = 9 * 60
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


def centred(rng: np.random.Generator, size: int, sd: float, weights: np.ndarray) -> np.ndarray:
    """Normal deviations whose ``weights``-weighted mean is exactly zero."""
    deviations = rng.normal(0.0, sd, size)
    return deviations - np.average(deviations, weights=weights)


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
