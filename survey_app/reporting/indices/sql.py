"""The aggregation query: sufficient statistics summed by the database.

:func:`aggregate` runs three GROUP BY queries per wave x unit x stratum x PSU (and
optionally procedure field and channel): the weighted sums of satisfied answers, valid
answers and points per index item; respondent counts and sums of weights (with those
of the respondents answering each formula's items); and the PSUs of each stratum. No
response row is loaded. The rule for strata and PSUs of each kind of wave
(:func:`_design_keys`), the weight of each response (:func:`_weight_expression`) and
the exclusion of flagged responses live here.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import (
    Connection,
    Float,
    Select,
    and_,
    case,
    cast,
    exists,
    func,
    literal,
    or_,
    select,
)
from sqlalchemy.sql.elements import ColumnElement

from survey_app.collection.scoring import Layout, answer_groups, satisfied_levels
from survey_app.extensions import db
from survey_app.models import (
    AnswerValue,
    Procedure,
    QuestionnaireItem,
    Response,
    ResponseWeight,
    WaveKind,
)


def _weight_expression(scheme_ids: Sequence[int]) -> ColumnElement[float]:
    if scheme_ids:
        return func.coalesce(ResponseWeight.weight, Response.design_weight, literal(1.0))
    return func.coalesce(cast(Response.design_weight, Float), literal(1.0))


def _with_weights(query, scheme_ids: Sequence[int]):
    if not scheme_ids:
        return query
    return query.outerjoin(
        ResponseWeight,
        and_(ResponseWeight.response_id == Response.id, ResponseWeight.scheme_id.in_(scheme_ids)),
    )


@dataclass(frozen=True)
class _DesignKeys:
    """Stratum and PSU columns of the responses matching ``condition`` (None: all)."""

    columns: list[ColumnElement]  # labelled "stratum", "psu"
    group_by: list[ColumnElement]
    condition: ColumnElement[bool] | None = None


def _design_keys(
    kind: WaveKind, wave_ids: list[int], only: ColumnElement[bool] | None
) -> list[_DesignKeys]:
    """How stratum and PSU are read from the responses; the queries run once per entry.

    Field surveys group by the plain ``stratum`` and ``psu`` columns, so the planner
    can estimate the number of groups (with a computed PSU key PostgreSQL expects one
    group per row and gives up its parallel aggregation). A response recorded without
    a PSU is its own PSU: those are grouped by response id in a second pass, run only
    when such responses exist.
    """
    if kind == WaveKind.FIELD_SURVEY:
        stratum = Response.stratum.label("stratum")
        with_psu = Response.psu.is_not(None)
        keys = [_DesignKeys([stratum, Response.psu.label("psu")], [Response.stratum, Response.psu],
                            with_psu)]  # fmt: skip
        without_psu = db.session.scalar(
            select(
                exists().where(
                    Response.wave_id.in_(wave_ids),
                    Response.psu.is_(None),
                    *([only] if only is not None else []),
                )
            )
        )
        if without_psu:
            own = cast(Response.id, db.String).label("psu")
            keys.append(_DesignKeys([stratum, own], [Response.stratum, Response.id],
                                    Response.psu.is_(None)))  # fmt: skip
        return keys
    columns = [
        func.coalesce(Response.desk_id, -Response.unit_id).label("stratum"),
        func.date(Response.submitted_at).label("psu"),
    ]
    return [_DesignKeys(columns, columns)]


def _breakdown_columns(by_field: bool, by_channel: bool) -> list[ColumnElement]:
    columns: list[ColumnElement] = []
    if by_field:
        columns.append(Procedure.field_id.label("field_id"))
    if by_channel:
        columns.append(Response.channel.label("channel"))
    return columns


@dataclass(frozen=True)
class Filters:
    field_id: int | None = None
    channel: str | None = None

    def apply(self, query, by_field: bool):
        if self.field_id is not None or by_field:
            query = query.outerjoin(Procedure, Procedure.id == Response.procedure_id)
        if self.field_id is not None:
            query = query.where(Procedure.field_id == self.field_id)
        if self.channel is not None:
            query = query.where(Response.channel == self.channel)
        return query


def item_codes(layout: Layout, questionnaire_ids: list[int]) -> dict[int, str]:
    """The index items of the questionnaires (their versions), code by item id."""
    return {
        item_id: code
        for item_id, code in db.session.execute(
            select(QuestionnaireItem.id, QuestionnaireItem.code).where(
                QuestionnaireItem.questionnaire_id.in_(questionnaire_ids),
                QuestionnaireItem.code.in_(layout.columns.items),
            )
        )
    }


def aggregate(
    layout: Layout,
    kind: WaveKind,
    wave_ids: list[int],
    questionnaire_ids: list[int],
    scheme_ids: list[int],
    filters: Filters,
    by_field: bool,
    by_channel: bool,
    calibrated_waves: list[int],
    only: ColumnElement[bool] | None = None,
    psus: bool = True,
) -> tuple[list, list, list, dict[int, str]]:
    """Run the three GROUP BY queries; return their rows and the item codes by id.

    Responses of ``calibrated_waves`` (waves whose scheme's adjustment enters the
    variance) are grouped one by one (column ``rid``, their id); the others have
    ``rid`` -1 and are summed per PSU. ``only`` restricts the responses read (the
    figure store reads the responses it has not folded yet, and folds by batch).
    ``psus``: False skips the query of the PSUs, which the figure store's fold does not
    need (its sums carry their PSUs; 50 ms for a fold of 33,000 responses)."""
    items = item_codes(layout, questionnaire_ids)
    weight = _weight_expression(scheme_ids)
    breakdown = _breakdown_columns(by_field, by_channel)
    # Items that share their satisfied levels (or their points) share one condition, so
    # the usual questionnaire (every item alike) costs the database one IN and one
    # simple CASE per answer row, not a condition per item.
    by_levels: dict[tuple[int, ...], list[int]] = {}
    by_scores: dict[tuple[float, ...], list[int]] = {}
    for item_id, code in items.items():
        by_levels.setdefault(satisfied_levels(layout, code), []).append(item_id)
        size = layout.questionnaire.item(code).scale_size or 5
        by_scores.setdefault(layout.definition.mean_score.points_for(size), []).append(item_id)

    def for_items(ids: list[int], condition: ColumnElement[bool]) -> ColumnElement[bool]:
        return condition if len(by_levels) == 1 else and_(AnswerValue.item_id.in_(ids), condition)

    satisfied = or_(
        *(for_items(ids, AnswerValue.value.in_(levels)) for levels, ids in by_levels.items())
    )

    def scored(scores: tuple[float, ...]) -> ColumnElement[float]:
        return case({v: s for v, s in enumerate(scores, 1)}, value=AnswerValue.value, else_=0.0)

    if len(by_scores) == 1:
        points = scored(next(iter(by_scores)))
    else:
        points = case(
            *((AnswerValue.item_id.in_(ids), scored(s)) for s, ids in by_scores.items()),
            else_=0.0,
        )
    # Per response, whether it has a valid answer to each formula's items (one pass
    # over the answers): a figure's n counts those respondents, not every respondent.
    groups = answer_groups(layout)
    ids_of: dict[str, list[int]] = {}
    for item_id, code in items.items():
        ids_of.setdefault(code, []).append(item_id)
    answered = (
        select(
            AnswerValue.response_id.label("response_id"),
            *(
                func.max(
                    case(
                        (
                            AnswerValue.item_id.in_(
                                [i for c in g for i in ids_of.get(layout.columns.items[c // 3], [])]
                            ),
                            1,
                        ),
                        else_=0,
                    )
                ).label(f"a{k}")
                for k, g in enumerate(groups)
            ),
        )
        .join(Response, Response.id == AnswerValue.response_id)
        .where(
            Response.wave_id.in_(wave_ids),
            AnswerValue.item_id.in_(list(items)),
            *([only] if only is not None else []),
        )
        .group_by(AnswerValue.response_id)
        .subquery()
    )
    flags = [func.coalesce(answered.c[f"a{k}"], 0) for k in range(len(groups))]
    item_rows: list = []
    respondent_rows: list = []
    psu_rows: list = []
    connection = db.session.connection()  # Core execution: plain tuples, no ORM overhead
    respondent: list[ColumnElement] = []
    if calibrated_waves:
        rid = case((Response.wave_id.in_(calibrated_waves), Response.id), else_=-1)
        respondent = [rid]
        rid = rid.label("rid")
    else:
        rid = literal(-1).label("rid")
    for design in _design_keys(kind, wave_ids, only):
        keys = [Response.wave_id, Response.unit_id, *design.columns, rid, *breakdown]
        group = [Response.wave_id, Response.unit_id, *design.group_by, *respondent, *breakdown]
        # Flagged responses (unreviewed or excluded bursts) never reach a figure.
        where = [Response.wave_id.in_(wave_ids), Response.flagged.is_(False)]
        if only is not None:
            where.append(only)
        if design.condition is not None:
            where.append(design.condition)
        item_query = (
            select(
                *keys,
                AnswerValue.item_id,
                func.sum(case((satisfied, weight), else_=0.0)).label("s"),
                func.sum(weight).label("v"),
                func.sum(weight * points).label("p"),
            )
            .join(AnswerValue, AnswerValue.response_id == Response.id)
            .where(*where, AnswerValue.item_id.in_(list(items)))
            .group_by(*group, AnswerValue.item_id)
        )
        item_query = filters.apply(_with_weights(item_query, scheme_ids), by_field)
        respondent_query = (
            select(
                *keys,
                func.count().label("n"),
                func.sum(weight).label("w"),
                func.sum(weight * weight).label("w2"),
                *(
                    column
                    for k, flag in enumerate(flags)
                    for column in (
                        func.sum(flag).label(f"an{k}"),
                        func.sum(weight * flag).label(f"aw{k}"),
                        func.sum(weight * weight * flag).label(f"aww{k}"),
                    )
                ),
            )
            .select_from(Response)
            .outerjoin(answered, answered.c.response_id == Response.id)
            .where(*where)
            .group_by(*group)
        )
        respondent_query = filters.apply(_with_weights(respondent_query, scheme_ids), by_field)
        psu_query = (
            select(Response.wave_id, *design.columns)
            .where(*where)
            .group_by(Response.wave_id, *design.group_by)
        )
        item_rows += fetch(connection, item_query)
        respondent_rows += fetch(connection, respondent_query)
        if psus:
            psu_rows += fetch(connection, psu_query)
    return item_rows, respondent_rows, psu_rows, items


def fetch(connection: Connection, query: Select, *, binary: bool = False) -> list[tuple]:
    """The rows as the driver gives them, in one bulk fetch: plain tuples, not
    SQLAlchemy rows (building those, and running their result processors, cost more
    than the query on the demo's per-respondent PSUs). The values are numbers and
    strings (a feedback wave's PSU, its day, is the driver's: a string on SQLite, a
    date on PostgreSQL); :mod:`.statistics` reads design keys as text.

    ``binary``: on PostgreSQL, the rows come in the binary protocol (the figure
    store's vectors: half the bytes of their hex text, and nothing to decode; 8 MB
    for the province's four waves at 3,000 PSUs each, read in 20 ms instead of 45)."""
    if binary and connection.dialect.name == "postgresql":
        compiled = query.compile(
            dialect=connection.dialect, compile_kwargs={"render_postcompile": True}
        )
        driver = connection.connection.driver_connection
        with driver.cursor(binary=True) as cursor:  # type: ignore[union-attr]
            cursor.execute(str(compiled), compiled.params)
            return cursor.fetchall()
    result = connection.execute(query)
    try:
        return result.cursor.fetchall()
    finally:
        result.close()
