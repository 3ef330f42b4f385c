"""The SQL statements of the submission path, built once per process.

- :func:`context_statement`: the desk, the questionnaire and the wave a submission
  names, in one query (both databases).
- :func:`insert_statement`: PostgreSQL only, one statement that checks again that the
  desk is active (and the token its current one), that the questionnaire and the wave
  are what the caller assumed, flags a burst, and inserts the response and its answer
  rows; the ``response_keys_claim`` trigger skips the response if its client id or
  dossier is taken. It reads no partitioned table: a prepared statement's generic plan
  locks every partition of a partitioned table it reads, before pruning them (about
  1,000 locks per submission with 122 waves). The burst check reads the wave's own
  partition by name, and a resend is recognised from ``response_keys`` (migration 0012).
  Run in autocommit, the statement is its own transaction: one round trip stores a
  response whole and durably, or stores nothing. With ``counted=True`` it also counts
  the request's rate-limit hit (the ``survey-sql://`` storage's upsert,
  :data:`rate_limit_hit`) and stores the response only if the count is within the limit,
  so that a response costs one commit, not two (the counter's commit waited for its own
  WAL flush).

The single statement is run as a prepared statement on the raw psycopg connection
(:func:`.prepared.run_insert`).

The wave rule (:func:`wave_subquery`) exists once, here. The burst rule exists whole
in Python (:func:`.burst.is_burst`, the general path and SQLite) and here in the part
that decides every response whose identical answer sets all came earlier
(:func:`_burst`); the statement leaves the others to the general path.
``tests/test_submission_sql.py`` checks that the two agree.
"""

from __future__ import annotations

from functools import cache, lru_cache
from typing import Any

from sqlalchemy import (
    CTE,
    Boolean,
    ColumnElement,
    Date,
    DateTime,
    Exists,
    Float,
    Integer,
    ScalarSelect,
    Select,
    Sequence,
    String,
    TableClause,
    Uuid,
    and_,
    bindparam,
    case,
    column,
    exists,
    func,
    literal,
    null,
    or_,
    select,
    table,
    true,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlalchemy.dialects.postgresql import insert as postgresql_insert

from survey_app.models import (
    AnswerValue,
    Desk,
    Questionnaire,
    RateLimitCounter,
    Response,
    Unit,
    Wave,
    WaveKind,
)
from survey_app.partitions import RESPONSE_INBOX, RESPONSE_KEYS, partition_names

#: The columns of a key row, the id first.
KEY_COLUMNS = ("response_id", "client_id", "dossier_hash", "wave_id", "content_hash")


def wave_subquery(
    unit_id: ColumnElement[Any],
    unit_path: ColumnElement[Any],
    questionnaire_id: ColumnElement[Any],
    day: ColumnElement[Any],
) -> ScalarSelect[Any]:
    """The continuous-feedback wave of a response, as a scalar subquery.

    The wave must use this questionnaire, belong to the response's unit or one of its
    ancestors (whose materialised path is a prefix of the unit's), and cover ``day``,
    the local date of ``submitted_at``. If several do, the one of the most specific
    unit wins, then the latest start. A unit's path ends with its own id, so the
    longest path is the most specific unit (SQLite refuses a correlated column in a
    subquery's ORDER BY, so the path length stands in for it).
    """
    waves, wave_units = Wave.__table__, Unit.__table__.alias("wave_unit")
    ancestor = func.substr(unit_path, 1, func.length(wave_units.c.path)) == wave_units.c.path
    return (
        select(waves.c.id)
        .select_from(waves.join(wave_units, wave_units.c.id == waves.c.unit_id))
        .where(
            waves.c.kind == WaveKind.CONTINUOUS_FEEDBACK,
            waves.c.questionnaire_id == questionnaire_id,
            waves.c.start_date <= day,
            waves.c.end_date >= day,
            or_(waves.c.unit_id == unit_id, ancestor),
        )
        .order_by(
            func.length(wave_units.c.path).desc(), waves.c.start_date.desc(), waves.c.id.desc()
        )
        .limit(1)
        .scalar_subquery()
    )


@cache
def context_statement() -> Select[Any]:
    """Active desk (id, unit, token hash), questionnaire (id, checksum) and wave.

    Parameters ``code``, ``slug``, ``version`` and ``day``; exactly one row, with
    NULLs where nothing matches.
    """
    desks, units, questionnaires = Desk.__table__, Unit.__table__, Questionnaire.__table__
    wave = wave_subquery(
        desks.c.unit_id, units.c.path, questionnaires.c.id, bindparam("day", type_=Date())
    ).correlate(desks, units, questionnaires)
    one_row = select(literal(1).label("one")).subquery("one_row")
    return select(
        desks.c.id.label("desk_id"),
        desks.c.unit_id,
        desks.c.token_hash,
        questionnaires.c.id.label("questionnaire_id"),
        questionnaires.c.checksum,
        wave.label("wave_id"),
    ).select_from(
        one_row.outerjoin(desks, and_(desks.c.code == bindparam("code"), desks.c.active))
        .outerjoin(units, units.c.id == desks.c.unit_id)
        .outerjoin(
            questionnaires,
            and_(
                questionnaires.c.slug == bindparam("slug"),
                questionnaires.c.version == bindparam("version"),
            ),
        )
    )


def same_answers(stored: ColumnElement[Any], given: ColumnElement[Any]) -> ColumnElement[bool]:
    """PostgreSQL: whether stored answers are ``given`` (JSONB equality is equality of
    content). Equal contents have equal ``jsonb_hash``, which finds them through
    ``ix_responses_desk_same_answers`` (migration 0010); both burst rules use this."""
    return and_(func.jsonb_hash(stored) == func.jsonb_hash(given), stored == given)


def in_wave(responses: Any, wave_id: ColumnElement[Any]) -> ColumnElement[bool]:
    """PostgreSQL: the rows of ``responses`` in the wave ``wave_id`` (a parameter),
    written so that the planner keeps only that wave's partition (and, for a NULL wave,
    the default one) when the statement starts, instead of opening every wave's."""
    return or_(
        responses.c.wave_id == wave_id, and_(wave_id.is_(None), responses.c.wave_id.is_(None))
    )


def burst_reads(
    responses: Any,
    *,
    wave_id: ColumnElement[Any],
    desk_id: ColumnElement[Any],
    questionnaire_id: ColumnElement[Any],
    answers: ColumnElement[Any],
    received_since: ColumnElement[Any],
    window: tuple[ColumnElement[Any], ColumnElement[Any], ColumnElement[Any]],
    needed: ColumnElement[Any],
) -> tuple[ScalarSelect[Any], Exists]:
    """The two reads of the burst rule for ``answers`` given at a time ``at``, where
    ``window`` is ``(at - window, at, at + window)``: how many identical answer sets of
    the desk (to the questionnaire, in the wave) are stored in the trailing window
    ``[at - window, at]``, counting at most ``needed``, and whether one is stored in
    ``(at, at + window]``. ``received_since`` bounds their receipt (``at - window -``
    :data:`.times.MAX_CLOCK_SKEW`), so the index on the desk's receipts can help.

    The single statement (:func:`_burst`) gives them as parameters; the inbox's mover
    (:mod:`.inbox`) as the columns of each row it moves.
    """
    start, at, end = window
    same = (
        in_wave(responses, wave_id),
        responses.c.desk_id == desk_id,
        responses.c.questionnaire_id == questionnaire_id,
        responses.c.received_at >= received_since,
        same_answers(responses.c.answers, answers),
    )
    # Reads at most BURST_COUNT - 1 of the identical times through the index, however
    # many there are: a desk sending the same answers without pause (a stuck button, a
    # flood) costs each request that much, not a count over every identical time.
    # Only ``responses`` is read here: a column of another table (the mover's inbox row)
    # is the enclosing query's, not a table to join.
    recent = (
        select(literal(1).label("one"))
        .where(*same, responses.c.submitted_at >= start, responses.c.submitted_at <= at)
        .limit(needed)
        .correlate_except(responses)
        .subquery("recent")
    )
    counted = select(func.count()).select_from(recent).scalar_subquery()
    later = (
        exists()
        .where(*same, responses.c.submitted_at > at, responses.c.submitted_at <= end)
        .correlate_except(responses)
    )
    return counted, later


def _burst(
    responses: Any, desk_id: ColumnElement[Any], questionnaire_id: ColumnElement[Any]
) -> CTE:
    """The burst rule (see :func:`.burst.is_burst`) where it is cheap: a CTE of one row
    ``(flag, defer)``.

    ``flag``: enough identical answer sets in ``[at - window, at]`` (the trailing window)
    make a burst with this one. ``defer``: they do not, but an identical set submitted
    later than this one, within ``(at, at + window]``, is stored (a kiosk sending
    queued answers late); then another window holding ``at`` may make a burst, and the
    statement stores nothing so that the general path decides with the whole rule.
    Without such a later time every window holding ``at`` holds only times of the
    trailing one, so ``flag`` is the whole rule. The rest of the rule (each identical
    time's count of identical times in ``[it, it + window]``, a window aggregate) was
    part of every execution's plan (benchmarks/README.md, stop 46).

    Parameters: ``burst_count`` (0 turns the rule off), ``received_since``,
    ``window_start`` (``submitted_at - window``), ``window_end``, ``answers`` and
    ``wave_id``.
    """
    burst_count = bindparam("burst_count", type_=Integer())
    needed = func.greatest(burst_count - 1, 0)
    counted, later = burst_reads(
        responses,
        wave_id=bindparam("wave_id", type_=Integer()),
        desk_id=desk_id,
        questionnaire_id=questionnaire_id,
        answers=bindparam("answers", type_=JSONB()),
        received_since=bindparam("received_since", type_=DateTime(timezone=True)),
        window=(
            bindparam("window_start", type_=DateTime(timezone=True)),
            bindparam("submitted_at", type_=DateTime(timezone=True)),
            bindparam("window_end", type_=DateTime(timezone=True)),
        ),
        needed=needed,
    )
    # MATERIALIZED: computed once, not copied into both columns that read it.
    trailing = (
        select((counted >= needed).label("holds")).cte("trailing").prefix_with("MATERIALIZED")
    )
    on = burst_count > 0
    # MATERIALIZED: computed once, not copied into the statement's columns that read it.
    return (
        select(
            and_(on, trailing.c.holds).label("flag"),
            and_(on, ~trailing.c.holds, later).label("defer"),
        )
        .select_from(trailing)
        .cte("burst")
        .prefix_with("MATERIALIZED")
    )


def rate_limit_hit() -> CTE:
    """One rate-limit hit as a CTE: the upsert of ``survey-sql://`` (``_INCREMENT`` in
    :mod:`survey_app.ratelimit_storage`), returning the key's count after the hit.

    Parameters ``limit_key`` (the storage's key), ``limit_expires_at`` (now + the
    window) and ``limit_now`` (epoch seconds). A data-modifying CTE runs exactly once
    whether or not the rest of the statement reads it: the hit counts even when the
    response is not stored.
    """
    counters = RateLimitCounter.__table__
    now = bindparam("limit_now", type_=Float())
    upsert = postgresql_insert(counters).values(
        {
            counters.c["key"]: bindparam("limit_key", type_=String()),
            counters.c["count"]: literal(1, Integer()),
            counters.c["expires_at"]: bindparam("limit_expires_at", type_=Float()),
        }
    )
    ended = counters.c["expires_at"] <= now
    return (
        upsert.on_conflict_do_update(
            index_elements=[counters.c["key"]],
            set_={
                "count": case(
                    (ended, upsert.excluded["count"]),
                    else_=counters.c["count"] + upsert.excluded["count"],
                ),
                "expires_at": case(
                    (ended, upsert.excluded["expires_at"]), else_=counters.c["expires_at"]
                ),
            },
        )
        .returning(counters.c["count"])
        .cte("hit")
    )


def wave_partition(wave_id: int | None) -> TableClause:
    """The wave's partition of ``responses`` as a table of its own, with the columns the
    burst rule reads: naming it, not the partitioned table, keeps a statement's generic
    plan from locking every other wave's partition."""
    responses = Response.__table__
    name, _answers = partition_names(wave_id)
    read = ("wave_id", "desk_id", "questionnaire_id", "received_at", "submitted_at", "answers")
    return table(name, *(column(key, responses.c[key].type) for key in read))


def _context() -> tuple[CTE, CTE, CTE]:
    """The CTEs ``desk``, ``questionnaire`` and ``holding`` of the single statement.

    ``holding`` is one row (the desk's id and unit, the questionnaire's id) when the
    desk is active (and, for a kiosk, ``token_hash`` its current token's), still in the
    unit ``unit_id``, the questionnaire's checksum is ``checksum``, and the wave of
    ``day`` is ``wave_id``: the context the caller assumed. No row otherwise.
    """
    desks, units, questionnaires = Desk.__table__, Unit.__table__, Questionnaire.__table__
    desk = (
        select(desks.c.id, desks.c.unit_id, units.c.path)
        .join_from(desks, units, units.c.id == desks.c.unit_id)
        .where(
            desks.c.id == bindparam("desk_id", type_=Integer()),
            # The content hash names the unit: a desk moved since is another context.
            desks.c.unit_id == bindparam("unit_id", type_=Integer()),
            desks.c.active,
            or_(
                ~bindparam("check_token", type_=Boolean()),
                desks.c.token_hash == bindparam("token_hash", type_=String()),
            ),
        )
        .cte("desk")
    )
    questionnaire = (
        select(questionnaires.c.id)
        .where(
            questionnaires.c.id == bindparam("questionnaire_id", type_=Integer()),
            questionnaires.c.checksum == bindparam("checksum", type_=String()),
        )
        .cte("questionnaire")
    )
    wave = wave_subquery(
        desk.c.unit_id, desk.c.path, questionnaire.c.id, bindparam("day", type_=Date())
    ).correlate(desk, questionnaire)
    # The desk and the questionnaire, if the wave is the one the caller assumed; used
    # twice, written once (psycopg caches the parsing of statements up to 4 kB only).
    holding = (
        select(desk.c.id, desk.c.unit_id, questionnaire.c.id.label("questionnaire_id"))
        .select_from(desk.join(questionnaire, true()))
        .where(wave.is_not_distinct_from(bindparam("wave_id", type_=Integer())))
        .cte("holding")
    )
    return desk, questionnaire, holding


def _given(holding: CTE) -> dict[str, ColumnElement[Any]]:
    """The columns of a response as the parameters and ``holding`` give them."""
    responses = Response.__table__
    return {
        "client_id": bindparam("client_id", type_=Uuid()),
        "questionnaire_id": holding.c.questionnaire_id,
        "unit_id": holding.c.unit_id,
        "desk_id": holding.c.id,
        "wave_id": bindparam("wave_id", type_=Integer()),
        "procedure_id": bindparam("procedure_id", type_=Integer()),
        "channel": bindparam("channel", type_=responses.c.channel.type),
        "lang": bindparam("lang", type_=String()),
        "started_at": bindparam("started_at", type_=DateTime(timezone=True)),
        "submitted_at": bindparam("submitted_at", type_=DateTime(timezone=True)),
        "received_at": bindparam("received_at", type_=DateTime(timezone=True)),
        "answers": bindparam("answers", type_=JSONB()),
        "content_hash": bindparam("content_hash", type_=String()),
        "dossier_hash": bindparam("dossier_hash", type_=String()),
    }


def _answer(
    new_id: ScalarSelect[Any],
    holding: CTE,
    hits: ColumnElement[Any],
    deferred: ColumnElement[Any],
    *ctes: CTE,
) -> Select[Any]:
    """The single statement's one row (see :func:`insert_statement`), with ``ctes``
    (data-modifying CTEs that nothing reads) attached.

    When nothing was inserted (``new_id`` NULL), the response already stored under
    this client id (if this statement's snapshot sees it), so that a resend needs no
    second query: its key row holds the columns that tell a resend from a conflict,
    whatever its wave.
    """
    keys = RESPONSE_KEYS
    stored = (
        select(
            keys.c.content_hash.label("stored_content_hash"),
            keys.c.wave_id.label("stored_wave_id"),
            keys.c.dossier_hash.label("stored_dossier_hash"),
        )
        .where(keys.c.client_id == bindparam("client_id", type_=Uuid()), new_id.is_(None))
        .subquery("stored")
    )
    one_row = select(literal(1).label("one")).subquery("one_row")
    return (
        select(
            new_id.label("id"),
            exists(select(holding.c.id)).label("context_holds"),
            hits.label("hits"),
            deferred.label("deferred"),
            stored.c.stored_content_hash,
            stored.c.stored_wave_id,
            stored.c.stored_dossier_hash,
        )
        .select_from(one_row.outerjoin(stored, true()))
        .add_cte(*ctes)
    )


def _limited(source: Select[Any], counted: bool) -> tuple[Select[Any], ColumnElement[Any]]:
    """``source`` kept only within the rate limit, and the count after this hit, when
    ``counted`` (:func:`rate_limit_hit`); as it is, and NULL, otherwise."""
    if not counted:
        return source, null()
    hits = select(rate_limit_hit().c["count"]).scalar_subquery()
    return source.where(hits <= bindparam("limit_amount", type_=Integer())), hits


@lru_cache(maxsize=256)
def insert_statement(counted: bool = False, assumed_wave: int | None = None) -> Select[Any]:
    """PostgreSQL: check, flag and insert one response and its answers in one statement.

    One statement per wave: ``assumed_wave`` is the wave the caller assumed, whose id it
    also gives as the parameter ``wave_id``; the burst check reads that wave's partition.

    Returns one row ``(id, context_holds, hits, deferred, stored_content_hash,
    stored_wave_id, stored_dossier_hash)``: ``id`` is the new response's, or NULL if
    nothing was stored; ``context_holds`` says whether the desk, the questionnaire and
    the wave are what the parameters say; ``deferred`` that the burst rule needs the
    general path (:func:`_burst`: nothing stored). NULL with ``context_holds``
    true and ``deferred`` false means that the client id or the
    dossier is taken (or, with ``counted``, that ``hits`` is over ``limit_amount``);
    the ``stored_*`` columns are then those of the response stored under this client
    id, in any wave, if the statement's snapshot sees one (NULL otherwise: a dossier
    taken, or a response committed while this statement ran). Parameters: the columns of
    ``responses`` (as ``responses.response_row`` makes them, without
    ``flagged``/``flag_reason``), ``checksum``, ``check_token``, ``token_hash``,
    ``item_ids``, ``values``, ``day``, those of the burst rule and, with ``counted``,
    those of :func:`rate_limit_hit` and ``limit_amount``; ``hits`` is the rate-limit
    count after this request (NULL without ``counted``).
    """
    responses, answer_values = Response.__table__, AnswerValue.__table__
    desk, questionnaire, holding = _context()
    burst = _burst(wave_partition(assumed_wave), desk.c.id, questionnaire.c.id)
    columns = {
        **_given(holding),
        "stratum": null(),
        "psu": null(),
        "design_weight": null(),
        "flagged": burst.c.flag,
        "flag_reason": case((burst.c.flag, literal("burst")), else_=null()),
    }
    source, hits = _limited(
        select(*[value.label(name) for name, value in columns.items()])
        .select_from(holding.join(burst, true()))
        .where(~burst.c.defer),
        counted,
    )
    # A plain insert: a taken client id or dossier is skipped by the ``response_keys_claim``
    # trigger (migration 0007), and the partitions' one unique index, on (id, wave), cannot
    # conflict with an id drawn from the sequence. ``ON CONFLICT DO NOTHING`` here made
    # every insert speculative (probe that index first, then confirm the row) for nothing.
    inserted = (
        postgresql_insert(responses)
        .from_select(list(columns), source)
        .returning(responses.c.id, responses.c.wave_id)
        .cte("inserted")
    )
    coded = (
        func.unnest(
            bindparam("item_ids", type_=ARRAY(Integer())),
            bindparam("values", type_=ARRAY(Integer())),
        )
        .table_valued("item_id", "value")
        .render_derived(name="coded")
    )
    answers = postgresql_insert(answer_values).from_select(
        ["response_id", "item_id", "value", "wave_id"],
        select(inserted.c.id, coded.c.item_id, coded.c.value, inserted.c.wave_id).select_from(
            inserted.join(coded, true())
        ),
    )
    return _answer(
        select(inserted.c.id).scalar_subquery(),
        holding,
        hits,
        select(burst.c.defer).scalar_subquery(),
        answers.cte("answers"),
    )


@lru_cache(maxsize=4)
def inbox_statement(counted: bool = False) -> Select[Any]:
    """PostgreSQL with ``SUBMISSION_INBOX``: check the context, count the rate-limit hit,
    claim the response's key and write it to ``response_inbox``, in one statement.

    The key row (``response_keys``: client id, dossier, wave, content hash) is claimed
    here, so a resend, a conflict and a second response for a dossier are told at once,
    as by :func:`insert_statement`; the response's id is drawn from the responses'
    sequence, and the mover (:mod:`.inbox`) inserts it under that id with its answer rows
    and its burst flag. Parameters and the row returned: those of
    :func:`insert_statement`, without the burst rule's (``deferred`` is always false).
    One statement for every wave: it reads no partition.
    """
    keys, inbox = RESPONSE_KEYS, RESPONSE_INBOX
    _desk, _questionnaire, holding = _context()
    given = _given(holding)
    source, hits = _limited(
        select(
            Sequence("responses_id_seq").next_value(),
            *(given[name] for name in KEY_COLUMNS[1:]),
        ).select_from(holding),
        counted,
    )
    claimed = (
        postgresql_insert(keys)
        .from_select(list(KEY_COLUMNS), source)
        .on_conflict_do_nothing()
        .returning(keys.c.response_id)
        .cte("claimed")
    )
    boxed = postgresql_insert(inbox).from_select(
        ["id", *given, "item_ids", "item_values"],
        select(
            claimed.c.response_id,
            *given.values(),
            bindparam("item_ids", type_=ARRAY(Integer())),
            bindparam("values", type_=ARRAY(Integer())),
        ).select_from(claimed.join(holding, true())),
    )
    return _answer(
        select(claimed.c.response_id).scalar_subquery(),
        holding,
        hits,
        literal(False),
        boxed.cte("boxed"),
    )
