"""PostgreSQL: one autocommit statement per response once a desk's context is known.

Once a worker has seen a desk's context (desk, questionnaire, wave) that day, it
remembers it; the desk's next responses are checked, flagged and stored by one
statement (:func:`.sql.insert_statement`) that checks the context again and stores
nothing if it changed, and the request then goes the general way
(``tests/web/test_submission_paths.py``). With ``SUBMISSION_INBOX`` the statement
(:func:`.sql.inbox_statement`) claims the response's key and writes it to the inbox,
from which :mod:`.inbox` moves it into ``responses``, flagged there.
"""

from __future__ import annotations

import psycopg
from flask import current_app

from survey_app.collection import desks as desk_service
from survey_app.collection.questionnaires import Codebook
from survey_app.collection.responses import (
    ResponseDraft,
    StoreOutcome,
    existing_outcome,
    outcome_against,
    response_row,
)
from survey_app.collection.submissions import prepared
from survey_app.collection.submissions.burst import burst_settings
from survey_app.collection.submissions.context import Context, ContextKey
from survey_app.collection.submissions.rate_limit import LimitHit, OverLimitError
from survey_app.collection.submissions.times import MAX_CLOCK_SKEW, local_day
from survey_app.extensions import SUBMISSIONS_BIND, db
from survey_app.models import Channel

#: Remembered contexts per app; an entry is only ever a guess that the single
#: statement checks again, so a stale one costs a slower request, never a wrong one.
_CONTEXTS_KEY = "survey.submission_contexts"

_CONTEXTS_MAX = 10_000


def remembered(key: ContextKey) -> Context | None:
    if SUBMISSIONS_BIND not in db.engines:
        return None
    return current_app.extensions.get(_CONTEXTS_KEY, {}).get(key)


def remember(key: ContextKey, context: Context) -> None:
    if SUBMISSIONS_BIND not in db.engines:
        return
    contexts: dict[ContextKey, Context] = current_app.extensions.setdefault(_CONTEXTS_KEY, {})
    if context.desk is None or context.codebook is None or key.day is None or not context.wave_id:
        # e.g. a desk deactivated since, or no feedback period yet (the general path
        # creates it): forget it
        contexts.pop(key, None)
        return
    if len(contexts) >= _CONTEXTS_MAX:
        contexts.clear()
    contexts[key] = context


def store_at_once(
    draft: ResponseDraft,
    codebook: Codebook,
    rows: list[tuple[int, int]],
    device_token: str | None,
    hit: LimitHit | None = None,
) -> StoreOutcome | None:
    """PostgreSQL: store a new response with one statement in autocommit.

    The statement (:func:`.sql.insert_statement`)
    checks again what the remembered context assumed (desk active, the presented
    token its current one for a kiosk, the questionnaire's checksum, the wave) and
    flags a burst; it stores nothing when any differs, when the client id or the
    dossier is taken, or when an identical answer set submitted later is stored (the
    burst rule then needs the general path). With ``hit`` it also counts the request's
    rate-limit hit, in the same transaction, and stores nothing when that is over the
    limit.

    Raises
    ------
    OverLimitError
        When ``hit`` is over its limit (the hit is counted, nothing is stored).

    Returns
    -------
    StoreOutcome | None
        CREATED; REPEATED, CONFLICT or DUPLICATE_DOSSIER when the context held but
        the id or the dossier was taken; None when the context did not hold, the burst
        rule needs the general path, or the wave's partition is gone (the caller then
        decides afresh).
    """
    count, window = burst_settings()
    params = response_row(draft)
    params.pop("flagged")
    params.pop("flag_reason")
    params.update(
        checksum=codebook.checksum,
        check_token=draft.channel is Channel.KIOSK,
        token_hash=desk_service.hash_token(device_token or ""),
        day=local_day(draft.submitted_at),
        item_ids=[item_id for item_id, _value in rows],
        values=[value for _item_id, value in rows],
        burst_count=max(count, 0),
        received_since=draft.submitted_at - window - MAX_CLOCK_SKEW,
        window_start=draft.submitted_at - window,
        window_end=draft.submitted_at + window,
    )
    if hit is not None:
        params.update(hit.params())
    # The app's autocommit engine for this statement (survey_app.add_submissions_bind).
    try:
        row = prepared.run_insert(
            db.engines[SUBMISSIONS_BIND],
            params,
            counted=hit is not None,
            inbox=bool(current_app.config.get("SUBMISSION_INBOX")),
        )
    except psycopg.errors.UndefinedTable:
        # The statement names the wave's partition, which was archived (detached and
        # dropped) since: nothing was stored or counted; the caller decides afresh.
        if hit is not None:
            hit.count()
        return None
    if row.id is not None:
        return StoreOutcome.CREATED
    if hit is not None and row.hits > hit.item.amount:
        raise OverLimitError(hit)
    if not row.context_holds:
        return None
    if row.stored_content_hash is not None:  # a resend: the statement read the response
        return outcome_against(
            draft, row.stored_content_hash, row.stored_wave_id, row.stored_dossier_hash
        )
    if row.deferred:  # the whole burst rule is needed (a late identical answer set)
        return None
    return existing_outcome(draft) or StoreOutcome.DUPLICATE_DOSSIER
