"""SQLAlchemy 2 typed models, one module per topic.

- ``units``: the administrative hierarchy, desks, procedure fields and procedures.
- ``collection``: questionnaires, waves, responses and their coded answers.
- ``weighting``: weighting schemes and per-response weights.
- ``accounts``: users with roles and a unit scope, and the audit log.
- ``system``: installation-wide settings and shared rate-limit counters.
- ``alerts``: alert episodes, leaders' alert settings, subscriptions and receipts.
- ``small_area``: the per-wave switch for small-area (Fay–Herriot) commune figures.
"""

from survey_app.models.accounts import AuditLog, Role, User
from survey_app.models.alerts import (
    Alert,
    AlertPreference,
    AlertReceipt,
    AlertRule,
    AlertSubscription,
    DigestLog,
)
from survey_app.models.collection import (
    AnswerValue,
    Channel,
    FeedbackPeriod,
    FeedbackSeries,
    FigureCell,
    FigureCount,
    FigureQueue,
    FigureStatList,
    FigureSum,
    LonelyPSU,
    Questionnaire,
    QuestionnaireItem,
    Response,
    Wave,
    WaveFrameUnit,
    WaveKind,
    WaveStatus,
)
from survey_app.models.small_area import SmallAreaSetting
from survey_app.models.system import AppSetting, RateLimitCounter
from survey_app.models.units import Desk, Procedure, ProcedureField, Unit, UnitKind
from survey_app.models.weighting import ResponseWeight, WeightingScheme

__all__ = [
    "Alert",
    "AlertPreference",
    "AlertReceipt",
    "AlertRule",
    "AlertSubscription",
    "AnswerValue",
    "AppSetting",
    "AuditLog",
    "Channel",
    "Desk",
    "DigestLog",
    "FeedbackPeriod",
    "FeedbackSeries",
    "FigureCell",
    "FigureCount",
    "FigureQueue",
    "FigureStatList",
    "FigureSum",
    "LonelyPSU",
    "Procedure",
    "ProcedureField",
    "Questionnaire",
    "QuestionnaireItem",
    "RateLimitCounter",
    "Response",
    "ResponseWeight",
    "Role",
    "SmallAreaSetting",
    "Unit",
    "UnitKind",
    "User",
    "Wave",
    "WaveFrameUnit",
    "WaveKind",
    "WaveStatus",
    "WeightingScheme",
]
