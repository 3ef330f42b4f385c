"""A commune with a desk and its device token, for the tests that submit as a kiosk."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from flask import Flask

from survey_app.admin import units
from survey_app.collection import desks, questionnaires
from survey_app.collection import questionnaire as spec
from survey_app.extensions import db


def commune_desk(
    app: Flask,
    unit: str,
    desk: str,
    *,
    unit_vi: str = "Xã thử",
    unit_en: str = "Test commune",
    desk_name: str = "Quầy 1",
    shipped: bool = True,
    questionnaire: dict[str, Any] | None = None,
) -> str:
    """Commune ``unit`` (a root unit), its desk ``desk`` with a device token, the
    shipped questionnaires (unless ``shipped`` is false) and ``questionnaire`` (a
    definition, if given), committed; the token."""
    units.import_units([{"code": unit, "name_vi": unit_vi, "name_en": unit_en,
                         "kind": "commune", "parent_code": ""}])  # fmt: skip
    desks.create_desk(desk, unit, desk_name)
    token = desks.issue_token(desk)
    if shipped:
        questionnaires.load_folder(Path(app.config["QUESTIONNAIRE_DIR"]))
    if questionnaire is not None:
        questionnaires.upsert(spec.Questionnaire.from_dict(questionnaire))
    db.session.commit()
    return token
