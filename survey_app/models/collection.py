"""Questionnaires, waves, responses and their coded answers.

Answer storage
--------------
A response keeps its answers twice: ``responses.answers`` holds the submitted JSON
exactly as validated (for export and audit), and ``answer_values`` holds one narrow row
of small integers per coded answer (likert and smiley levels, choice positions, whole
numbers). Aggregation for the indices reads only the narrow table: a GROUP BY over
``(item_id, value)`` joined to the response's domain columns, never JSON parsing.
"""

from __future__ import annotations

import enum
import uuid
from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Date,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
    Uuid,
    false,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from survey_app.extensions import db
from survey_app.models._types import (
    BigId,
    JSONType,
    UTCDateTime,
    enum_column,
    partial_index,
    utcnow,
)
from survey_app.models.units import Desk, Procedure, Unit


class WaveKind(enum.StrEnum):
    FIELD_SURVEY = "field_survey"  # probability sample: design-based inference
    CONTINUOUS_FEEDBACK = "continuous_feedback"  # self-selected kiosk/phone: model-based


class WaveStatus(enum.StrEnum):
    OPEN = "open"  # answers are accepted (fieldwork or feedback period running)
    CLOSED = "closed"  # fieldwork finished: no more answers, figures are final


class LonelyPSU(enum.StrEnum):
    """What a stratum with a single PSU contributes to the variance (R's ``survey.lonely.psu``)."""

    FAIL = "fail"
    REMOVE = "remove"
    ADJUST = "adjust"
    AVERAGE = "average"
    CERTAINTY = "certainty"


class FeedbackPeriod(enum.StrEnum):
    MONTH = "month"
    QUARTER = "quarter"


class Channel(enum.StrEnum):
    KIOSK = "kiosk"
    PHONE = "phone"
    FIELD = "field"
    PAPER = "paper"


class Questionnaire(db.Model):
    """One version of a questionnaire file; the parsed definition is stored as JSON."""

    __tablename__ = "questionnaires"
    __table_args__ = (UniqueConstraint("slug", "version"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(64))
    version: Mapped[int] = mapped_column(Integer)
    checksum: Mapped[str] = mapped_column(String(64))
    title_vi: Mapped[str] = mapped_column(String(300))
    title_en: Mapped[str] = mapped_column(String(300))
    definition: Mapped[dict[str, Any]] = mapped_column(JSONType)
    loaded_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    items: Mapped[list[QuestionnaireItem]] = relationship(
        back_populates="questionnaire", order_by="QuestionnaireItem.position"
    )

    def title(self, lang: str) -> str:
        return self.title_en if lang == "en" else self.title_vi


class QuestionnaireItem(db.Model):
    """An item of a questionnaire version, numbered so answers can be stored as integers."""

    __tablename__ = "questionnaire_items"
    __table_args__ = (UniqueConstraint("questionnaire_id", "code"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    questionnaire_id: Mapped[int] = mapped_column(ForeignKey("questionnaires.id"), index=True)
    code: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(16))
    position: Mapped[int] = mapped_column(Integer)

    questionnaire: Mapped[Questionnaire] = relationship(back_populates="items")


class FeedbackSeries(db.Model):
    """How continuous kiosk/phone feedback of a unit is grouped into periods.

    A period wave (one month or one quarter) is created automatically the first time an
    answer falls into it, so no answer is ever stored without a period. The series of
    the nearest unit (the desk's unit or its closest ancestor) applies.
    """

    __tablename__ = "feedback_series"
    __table_args__ = (UniqueConstraint("unit_id", "questionnaire_slug"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"), index=True)
    questionnaire_slug: Mapped[str] = mapped_column(String(64))
    period: Mapped[FeedbackPeriod] = mapped_column(enum_column(FeedbackPeriod, "feedback_period"))
    lonely_psu: Mapped[LonelyPSU] = mapped_column(
        enum_column(LonelyPSU, "series_lonely_psu"), default=LonelyPSU.ADJUST
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    unit: Mapped[Unit] = relationship()


class Wave(db.Model):
    """A survey round (field survey) or a feedback period (continuous kiosk/phone).

    The design settings belong to the wave and are declared by the survey team, never
    inferred from the data: the lonely-PSU rule, whether the wave is a panel of an
    earlier wave (same PSUs re-interviewed; changes then use the joint design), and
    the sample frame (strata, PSUs and, where known, each stratum's number of PSUs in
    the population for the finite population correction).
    """

    __tablename__ = "waves"
    __table_args__ = (CheckConstraint("end_date >= start_date", name="dates_ordered"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name_vi: Mapped[str] = mapped_column(String(200))
    name_en: Mapped[str] = mapped_column(String(200))
    kind: Mapped[WaveKind] = mapped_column(enum_column(WaveKind, "wave_kind"))
    questionnaire_id: Mapped[int] = mapped_column(ForeignKey("questionnaires.id"), index=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"), index=True)
    start_date: Mapped[date] = mapped_column(Date)
    end_date: Mapped[date] = mapped_column(Date)
    status: Mapped[WaveStatus] = mapped_column(
        enum_column(WaveStatus, "wave_status"), default=WaveStatus.OPEN, server_default="open"
    )
    lonely_psu: Mapped[LonelyPSU] = mapped_column(
        enum_column(LonelyPSU, "wave_lonely_psu"),
        default=LonelyPSU.ADJUST,
        server_default="adjust",
    )
    panel_of_id: Mapped[int | None] = mapped_column(ForeignKey("waves.id"))
    series_id: Mapped[int | None] = mapped_column(ForeignKey("feedback_series.id"), index=True)
    created_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=utcnow)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    questionnaire: Mapped[Questionnaire] = relationship()
    unit: Mapped[Unit] = relationship()
    panel_of: Mapped[Wave | None] = relationship(remote_side="Wave.id")
    series: Mapped[FeedbackSeries | None] = relationship()
    frame: Mapped[list[WaveFrameUnit]] = relationship(
        back_populates="wave", order_by="WaveFrameUnit.id", cascade="all, delete-orphan"
    )

    def name(self, lang: str) -> str:
        return self.name_en if lang == "en" else self.name_vi


class WaveFrameUnit(db.Model):
    """One sampled PSU of a field wave's sample frame, with its stratum.

    ``stratum_psus`` is the number of PSUs in the stratum's population (R's ``fpc``
    as a population size), when the survey team knows it.
    """

    __tablename__ = "wave_frame"
    __table_args__ = (UniqueConstraint("wave_id", "stratum", "psu"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    wave_id: Mapped[int] = mapped_column(ForeignKey("waves.id", ondelete="CASCADE"), index=True)
    stratum: Mapped[str] = mapped_column(String(64))
    psu: Mapped[str] = mapped_column(String(64))
    unit_id: Mapped[int | None] = mapped_column(ForeignKey("units.id"))
    stratum_psus: Mapped[int | None] = mapped_column(Integer)

    wave: Mapped[Wave] = relationship(back_populates="frame")
    unit: Mapped[Unit | None] = relationship()


class Response(db.Model):
    """One citizen's submitted questionnaire.

    ``client_id`` is generated by the client (kiosk, phone, paper import) and is unique:
    a retry or an offline resend of the same response can never be stored twice.
    ``content_hash`` tells a harmless retry (same content) from a conflict.

    ``flagged`` and ``flag_reason`` hold the review state of a burst of identical
    answers (set on submission, decided on the analysts' burst review page):

    - ``flagged=True, flag_reason="burst"``: flagged, not reviewed yet;
    - ``flagged=False, flag_reason="burst-kept"``: reviewed, kept (counted);
    - ``flagged=True, flag_reason="burst-excluded"``: reviewed, excluded.

    Published figures count only responses with ``flagged=False``.
    """

    __tablename__ = "responses"
    __table_args__ = (
        Index("ix_responses_wave_unit", "wave_id", "unit_id"),
        Index("ix_responses_desk_received", "desk_id", "received_at"),
        CheckConstraint(
            "design_weight IS NULL OR design_weight > 0", name="design_weight_positive"
        ),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    client_id: Mapped[uuid.UUID] = mapped_column(Uuid(), unique=True)
    questionnaire_id: Mapped[int] = mapped_column(ForeignKey("questionnaires.id"), index=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"), index=True)
    desk_id: Mapped[int | None] = mapped_column(ForeignKey("desks.id"))
    wave_id: Mapped[int | None] = mapped_column(ForeignKey("waves.id"))
    procedure_id: Mapped[int | None] = mapped_column(ForeignKey("procedures.id"))
    channel: Mapped[Channel] = mapped_column(enum_column(Channel, "channel"))
    lang: Mapped[str] = mapped_column(String(2), default="vi")
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    submitted_at: Mapped[datetime] = mapped_column(UTCDateTime())
    received_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    answers: Mapped[dict[str, Any]] = mapped_column(JSONType)
    content_hash: Mapped[str] = mapped_column(String(64))
    # Keyed hash (HMAC) of the dossier code: never the code itself.
    dossier_hash: Mapped[str | None] = mapped_column(String(64), unique=True)
    # Design columns of a probability (field) survey.
    stratum: Mapped[str | None] = mapped_column(String(64))
    psu: Mapped[str | None] = mapped_column(String(64))
    design_weight: Mapped[float | None] = mapped_column(Float)
    flagged: Mapped[bool] = mapped_column(Boolean, default=False)
    flag_reason: Mapped[str | None] = mapped_column(String(64))

    questionnaire: Mapped[Questionnaire] = relationship()
    unit: Mapped[Unit] = relationship()
    desk: Mapped[Desk | None] = relationship()
    wave: Mapped[Wave | None] = relationship()
    procedure: Mapped[Procedure | None] = relationship()


class AnswerValue(db.Model):
    """One coded answer: a likert/smiley level, a choice position or a whole number.

    A multiple-choice answer gives one row per chosen option, hence the three-column key.
    ``wave_id`` repeats the response's wave: on PostgreSQL both tables are partitioned by
    it (migration 0007, :mod:`survey_app.partitions`), so every insert must give it.
    """

    __tablename__ = "answer_values"
    __table_args__ = (Index("ix_answer_values_item_value", "item_id", "value"),)

    response_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("responses.id", ondelete="CASCADE"), primary_key=True
    )
    item_id: Mapped[int] = mapped_column(ForeignKey("questionnaire_items.id"), primary_key=True)
    value: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    wave_id: Mapped[int | None] = mapped_column(Integer)


#: PostgreSQL: the figure store's pages are filled to half, so that a fold's updates of
#: the rows it meets again stay on their page ("HOT", no new index entry; migration 0013).
FIGURE_STORE_PAGES = {"postgresql_with": {"fillfactor": 50}}


class FigureSum(db.Model):
    """Sufficient statistics of the published figures, per design cell, procedure field
    and channel, every statistic in one row.

    One row per wave x unit x stratum x PSU x procedure field x channel, summed over
    the folded responses (those not in ``figure_queue``) with their design weight (1
    when none), as :mod:`survey_app.reporting.figure_store` keeps them. ``stats_id``
    names the statistics (a :class:`FigureStatList`) and ``sums`` holds each one's
    ``a, b, c`` in that order as little-endian float64:

    - ``"r"``: respondents ``a = n``, ``b = sum w``, ``c = sum w^2``;
    - ``"i:<item id>"``: ``a = sum w [satisfied]``, ``b = sum w [valid]``,
      ``c = sum w * points``;
    - ``"a:<item ids>"``: respondents with a valid answer to one of those items:
      ``a = n``, ``b = sum w``, ``c = sum w^2``.

    ``stratum`` and ``psu`` are the design keys as text; ``field_id`` -1 and
    ``channel`` "" stand for none (the unique key cannot hold NULLs). Until migration
    0016 a row held one statistic: a fold rewrote about nine rows per desk and day.
    """

    __tablename__ = "figure_sums"
    __table_args__ = (
        UniqueConstraint(
            "wave_id", "unit_id", "stratum", "psu", "field_id", "channel",
            name="uq_figure_sums_cell",
        ),
        FIGURE_STORE_PAGES,
    )  # fmt: skip

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    wave_id: Mapped[int] = mapped_column(ForeignKey("waves.id", ondelete="CASCADE"))
    unit_id: Mapped[int] = mapped_column(Integer)
    stratum: Mapped[str] = mapped_column(String(64))
    psu: Mapped[str] = mapped_column(String(64))
    field_id: Mapped[int] = mapped_column(Integer)
    channel: Mapped[str] = mapped_column(String(16))
    stats_id: Mapped[int] = mapped_column(ForeignKey("figure_stat_lists.id"))
    sums: Mapped[bytes] = mapped_column(LargeBinary)


class FigureCell(db.Model):
    """The figure store's sums per wave x unit x stratum x PSU, every statistic in one row.

    The same sums as :class:`FigureSum` without the split by procedure field and
    channel, which only the breakdowns need: what every page's default figures read,
    one row per PSU instead of one per PSU, field and channel. ``stats_id`` and
    ``sums`` as in :class:`FigureSum` (:mod:`survey_app.reporting.figure_store` writes
    them, :mod:`.indices.stored` reads them).
    """

    __tablename__ = "figure_cells"
    __table_args__ = (
        UniqueConstraint("wave_id", "unit_id", "stratum", "psu", name="uq_figure_cells_cell"),
        FIGURE_STORE_PAGES,
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    wave_id: Mapped[int] = mapped_column(ForeignKey("waves.id", ondelete="CASCADE"))
    unit_id: Mapped[int] = mapped_column(Integer)
    stratum: Mapped[str] = mapped_column(String(64))
    psu: Mapped[str] = mapped_column(String(64))
    stats_id: Mapped[int] = mapped_column(ForeignKey("figure_stat_lists.id"))
    sums: Mapped[bytes] = mapped_column(LargeBinary)


class FigureStatList(db.Model):
    """The statistics of a :class:`FigureCell`'s or :class:`FigureSum`'s vector, in
    order, joined by ``;`` (one row per distinct list, usually a few per index rule)."""

    __tablename__ = "figure_stat_lists"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    names: Mapped[str] = mapped_column(Text, unique=True)


class FigureQueue(db.Model):
    """The responses of a wave not folded into the figure store yet
    (:mod:`survey_app.reporting.figure_store`): a row per response, added by a trigger
    on ``responses`` when the response is stored (migration 0014) and deleted by the
    fold that adds its sums. Flagged responses stay here (they are never folded, and
    the tallies count them from here), marked (``flagged``): a response stored flagged
    enters marked (the trigger copies its flag, migration 0017), and the first fold
    that meets one flagged since marks it (migration 0015). Folds read only the rows
    not marked (``ix_figure_queue_pending``), so that no flagged response is read by
    every fold. A review that keeps one unmarks it. A wave whose sums are emptied gets
    all its responses back, unmarked until a fold meets them.

    A table of its own, not a flag on the response: a fold then never updates a
    response row. Such an update is never HOT (the flag was an index's predicate), so
    each one left a dead row version and an entry in each of the partition's indexes
    for autovacuum to clean (migration 0014)."""

    __tablename__ = "figure_queue"

    __table_args__ = (partial_index("ix_figure_queue_pending", "response_id", where="NOT flagged"),)

    wave_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    response_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    flagged: Mapped[bool] = mapped_column(
        Boolean, nullable=False, default=False, server_default=false()
    )


class FigureCount(db.Model):
    """The responses folded into the figure store per wave x unit x channel: how many,
    the first and last submission time and the last arrival (flagged or not yet folded
    responses are counted from their rows). The collection table, the scorecard's
    volumes and the lists of waves with data read these instead of counting every
    response."""

    __tablename__ = "figure_counts"
    __table_args__ = (
        UniqueConstraint("wave_id", "unit_id", "channel", name="uq_figure_counts_cell"),
        FIGURE_STORE_PAGES,
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    wave_id: Mapped[int] = mapped_column(ForeignKey("waves.id", ondelete="CASCADE"))
    unit_id: Mapped[int] = mapped_column(Integer)
    channel: Mapped[str] = mapped_column(String(16))
    responses: Mapped[int] = mapped_column(Integer)
    first_submitted: Mapped[datetime] = mapped_column(UTCDateTime())
    last_submitted: Mapped[datetime] = mapped_column(UTCDateTime())
    last_received: Mapped[datetime] = mapped_column(UTCDateTime())
