"""Shared set-up for the weighting console's web and browser tests: the wave, margins
files, an analyst, and in Chromium logging in and uploading.

The demo's December 2018 Hoàng Mai field survey (480 responses, ten commune strata,
four PSUs each; ``survey_app/demo/``) is the wave. Targets are made up
from its own level counts, tilted so that the weighting really moves the weights,
and scaled to the town's yearly transactions (36,200, the sum of the communes'
transaction counts in the demo).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from typing import Any

from flask import Flask
from playwright.sync_api import Page
from sqlalchemy import select

from survey_app.admin import accounts
from survey_app.extensions import db
from survey_app.models import Role, Wave
from survey_app.weighting.sample import WaveSample, load_sample

WAVE = "HM-2018-12"
POPULATION = 36_200.0
PASSWORD = "correct-horse-battery"


def field_wave() -> Wave:
    wave = db.session.scalar(select(Wave).where(Wave.code == WAVE))
    assert wave is not None
    return wave


def make_user(username: str, role: Role, unit: str | None = None) -> None:
    accounts.create_user(username, PASSWORD, role, unit)


def margins(
    sample: WaveSample, variables: Sequence[str], total: float = POPULATION
) -> list[tuple[str, str, float]]:
    """``(variable, level, target)`` for every level with respondents: the level's
    sample count times 1.3 or 0.7 alternately, scaled to ``total`` per variable."""
    rows = []
    for name in variables:
        variable = sample.variable(name)
        assert variable is not None
        present = [level for level in variable.levels if level.respondents]
        raw = [lv.respondents * (1.3 if k % 2 else 0.7) for k, lv in enumerate(present)]
        scale = total / sum(raw)
        rows += [(name, level.code, r * scale) for level, r in zip(present, raw, strict=True)]
    return rows


def margins_dict(rows: Sequence[tuple[str, str, float]]) -> dict[str, dict[str, float]]:
    out: dict[str, dict[str, float]] = {}
    for name, level, target in rows:
        out.setdefault(name, {})[level] = target
    return out


def csv_bytes(header: Sequence[str], rows: Sequence[Sequence[object]]) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(header)
    writer.writerows([[repr(c) if isinstance(c, float) else c for c in row] for row in rows])
    return buffer.getvalue().encode("utf-8")


def margins_csv(rows: Sequence[tuple[str, str, float]]) -> bytes:
    return csv_bytes(["variable", "level", "target"], rows)


def seed(app: Flask) -> bytes:
    """An analyst for Hoàng Mai town; returns a margins file for gender and age group."""
    with app.app_context():
        make_user("hm_analyst", Role.ANALYST, "NA-HM")
        body = margins_csv(margins(load_sample(field_wave()), ["gender", "age_group"]))
        db.session.remove()
    return body


def log_in(page: Page, base: str) -> list[str]:
    errors: list[str] = []

    def console(msg: Any) -> None:
        # a refused upload is answered 422, which Chromium logs; anything else counts
        if msg.type == "error" and "status of 422" not in msg.text:
            errors.append(msg.text)

    page.on("console", console)
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.goto(base + "/auth/login")
    page.locator("#username").fill("hm_analyst")
    page.locator("#password").fill(PASSWORD)
    page.get_by_role("button", name="Đăng nhập").click()
    return errors


def upload(page: Page, body: bytes, name: str = "margins.csv") -> None:
    page.locator("#targets").set_input_files(
        files=[{"name": name, "mimeType": "text/csv", "buffer": body}]
    )
