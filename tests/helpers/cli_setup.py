"""What the command-line tests set up through the commands themselves: the units of a small
province imported by flask units import, a field-survey wave built through the commands,
targets files."""

from __future__ import annotations

import csv
import io
from datetime import date, timedelta
from pathlib import Path

import numpy as np
from flask import Flask
from flask.testing import FlaskCliRunner

from survey_app.admin import accounts, units
from survey_app.collection import questionnaires
from survey_app.collection.paper_import.importing import import_file
from survey_app.models import Role
from tests.helpers.paper_import import DISTRICT_X

UNITS_CSV = """code,name_vi,name_en,kind,parent_code
P,Tỉnh Mẫu,Sample province,province,
D,Huyện Một,District One,district,P
C1,Xã Đông,East commune,commune,D
C2,Xã Tây,West commune,commune,D
"""


def import_units(runner: FlaskCliRunner, tmp_path: Path, text: str = UNITS_CSV) -> object:
    path = tmp_path / "units.csv"
    path.write_text(text, encoding="utf-8")
    return runner.invoke(args=["units", "import", str(path)])


WAVE = "W-CLI"

PASSWORD = "correct-horse-battery"

LIKERT = (
    [f"acc{k}" for k in range(1, 6)]
    + [f"proc{k}" for k in range(1, 6)]
    + [f"staff{k}" for k in range(1, 6)]
    + [f"res{k}" for k in range(1, 5)]
)

FEEDBACK = [f"fb{k}" for k in range(1, 5)]

PSUS = {"X-A": ("A1", "A2", "A3"), "X-B": ("B1", "B2")}

STRATUM_PSUS = {"X-A": 12, "X-B": 9}


def frame_csv(with_fpc: bool) -> str:
    header = "stratum,psu,unit_code" + (",stratum_psus" if with_fpc else "")
    rows = [
        f"{stratum},{psu},{stratum}" + (f",{STRATUM_PSUS[stratum]}" if with_fpc else "")
        for stratum, psus in PSUS.items()
        for psu in psus
    ]
    return "\n".join([header, *rows]) + "\n"


def answers_csv() -> bytes:
    rng = np.random.default_rng(20240301)
    header = ["client_id", "unit_code", "wave_code", "stratum", "psu", "design_weight"]
    header += ["submitted_date", "gender", *LIKERT, "gave_feedback", *FEEDBACK]
    rows = [["labels row (the template's second row), ignored"] + [""] * (len(header) - 1)]
    for i in range(60):
        stratum = "X-A" if i % 5 < 3 else "X-B"
        psu = PSUS[stratum][i % len(PSUS[stratum])]
        levels = [str(v) for v in rng.integers(2, 6, len(LIKERT))]
        gave = rng.random() < 0.6  # the feedback criteria are asked only then
        feedback = ["" if not gave or rng.random() < 0.2 else str(v) for v in rng.integers(1, 6, 4)]
        day = date(2024, 3, 1) + timedelta(days=i % 20)
        gender = ("nam", "nu")[int(rng.random() < 0.6)]
        weight = str(10 + 5 * (i % 3))
        rows.append(
            ["", stratum, WAVE, stratum, psu, weight, day.isoformat(), gender, *levels,
             ("no", "yes")[gave], *feedback]
        )  # fmt: skip
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerows([header, *rows])
    return buffer.getvalue().encode("utf-8")


def build_wave(app: Flask, runner: FlaskCliRunner, tmp_path: Path, *, with_fpc: bool) -> None:
    questionnaires.load_folder(Path(app.config["QUESTIONNAIRE_DIR"]))
    units.import_units(DISTRICT_X)
    frame = tmp_path / "frame.csv"
    frame.write_text(frame_csv(with_fpc), encoding="utf-8")
    created = runner.invoke(
        args=["waves", "create", WAVE, "--questionnaire", "sipas", "--unit", "X",
              "--start", "2024-03-01", "--end", "2024-03-31", "--name-vi", "Khảo sát thử",
              "--frame", str(frame)]
    )  # fmt: skip
    assert created.exit_code == 0, created.output
    admin = accounts.create_user("admin", PASSWORD, Role.ADMIN, None)
    report = import_file("answers.csv", answers_csv(), admin, "en")
    assert report.ok and report.created == 60, report.issues


def targets_csv(tmp_path: Path, rows: list[tuple[str, str, object]]) -> Path:
    path = tmp_path / "targets.csv"
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerows([("variable", "level", "target"), *rows])
    path.write_text(buffer.getvalue(), encoding="utf-8")
    return path


RAKING_TARGETS: list[tuple[str, str, object]] = [
    ("unit", "X-A", 700.0),
    ("unit", "X-B", 500.0),
    ("gender", "nam", 560.0),
    ("gender", "nu", 640.0),
]
