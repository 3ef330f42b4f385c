"""SQLAlchemy 2 typed models, one module per topic.

- ``units``: the administrative hierarchy, desks, procedure fields and procedures.
- ``collection``: questionnaires, waves, responses and their coded answers.
- ``weighting``: weighting schemes and per-response weights.
- ``accounts``: users with roles and a unit scope, and the audit log.
"""

from survey_app.models.accounts import AuditLog, Role, User
from survey_app.models.collection import (
    AnswerValue,
    Channel,
    Questionnaire,
    QuestionnaireItem,
    Response,
    Wave,
    WaveKind,
)
from survey_app.models.units import Desk, Procedure, ProcedureField, Unit, UnitKind
from survey_app.models.weighting import ResponseWeight, WeightingScheme

__all__ = [
    "AnswerValue",
    "AuditLog",
    "Channel",
    "Desk",
    "Procedure",
    "ProcedureField",
    "Questionnaire",
    "QuestionnaireItem",
    "Response",
    "ResponseWeight",
    "Role",
    "Unit",
    "UnitKind",
    "User",
    "Wave",
    "WaveKind",
    "WeightingScheme",
]
