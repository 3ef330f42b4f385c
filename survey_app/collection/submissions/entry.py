"""The one entry point of the kiosk, the phone form and the JSON API: :func:`submit`.

It checks the dossier key and the rate limit, validates every field, resolves the
wave, and stores the response exactly once: by the single statement when the desk's
context is remembered (:mod:`.fast_path`), else by the general way
(:func:`survey_app.collection.responses.store`).
"""

from __future__ import annotations

from contextlib import nullcontext
from dataclasses import replace
from typing import Any

from flask_babel import force_locale
from flask_babel import gettext as _

from survey_app.collection.responses import ResponseDraft, store
from survey_app.collection.submissions import fast_path
from survey_app.collection.submissions.burst import BURST_FLAG, is_burst
from survey_app.collection.submissions.context import authorised, context_key, find_context
from survey_app.collection.submissions.dossiers import dossier_key_refusal
from survey_app.collection.submissions.fields import Checked, check_fields
from survey_app.collection.submissions.rate_limit import (
    OverLimitError,
    rate_limited,
    statement_hit,
    too_many,
)
from survey_app.collection.submissions.result import (
    SubmitResult,
    error_result,
    invalid,
    not_an_object,
    outcome_result,
)
from survey_app.collection.submissions.times import local_day
from survey_app.collection.waves.feedback_periods import ensure_feedback_period
from survey_app.extensions import LANGUAGES
from survey_app.i18n import babel_locale, current_lang
from survey_app.models import Channel


def submit(
    payload: dict[str, Any],
    *,
    device_token: str | None,
    client_ip: str | None,
    plain: bool = False,
) -> SubmitResult:
    """Validate and store one submission; never raises for a client's mistake.

    Parameters
    ----------
    payload
        The submission (the API's JSON body, or the phone form's fields in that shape).
    device_token
        The kiosk's device token (``Authorization: Bearer``); required for channel
        ``kiosk``, ignored for ``phone``.
    client_ip
        The client's address, the rate-limit key when there is no valid device token.
    plain
        True when ``payload`` was decoded from a JSON text that
        :func:`.body.plain_text` found plain (no escape, no forbidden character).

    Returns
    -------
    SubmitResult
        201 created, 200 repeated, 400, 401, 409 (``conflict`` / ``duplicate_dossier``),
        422 (every bad field listed), 429, or 503 while the dossier key is not the
        data's. Messages are in the submission's ``lang``, else the current locale.
    """
    requested = payload.get("lang") if isinstance(payload, dict) else None
    in_force = current_lang()
    lang = requested if requested in LANGUAGES else in_force
    # Forcing the language already in force (most submissions) would change nothing.
    with force_locale(babel_locale(lang)) if lang != in_force else nullcontext():
        refused = dossier_key_refusal()
        if refused is not None:
            return refused
        return _submit(payload, lang, device_token=device_token, client_ip=client_ip, plain=plain)


def _submit(
    payload: Any, lang: str, *, device_token: str | None, client_ip: str | None, plain: bool
) -> SubmitResult:
    if not isinstance(payload, dict):
        return rate_limited(None, device_token, client_ip) or not_an_object()
    key = context_key(payload)
    remembered = fast_path.remembered(key)
    if remembered is None:
        context = find_context(key)
        limited = rate_limited(context.desk, device_token, client_ip)
        if limited is not None:
            return limited
    else:
        # The hit counts under the remembered desk, as it always did; the single
        # statement counts it itself when the storage is survey-sql:// (one commit).
        checked = check_fields(payload, lang, remembered, plain=plain)
        accepted = checked.accepted()
        storable = accepted is not None and _may_submit(checked, device_token)
        hit = statement_hit(remembered.desk, device_token, client_ip) if storable else None
        if hit is None:
            limited = rate_limited(remembered.desk, device_token, client_ip)
            if limited is not None:
                return limited
        if accepted is not None and storable:
            draft, codebook, rows = accepted
            try:
                outcome = fast_path.store_at_once(draft, codebook, rows, device_token, hit)
            except OverLimitError as error:
                return too_many(error.hit.item, error.hit.key)
            if outcome is not None:
                return outcome_result(outcome, draft.client_id)
        # Invalid, or the context changed: decide afresh, as if nothing was remembered
        # (the hit is counted already).
        context = find_context(key)
    fast_path.remember(key, context)
    checked = check_fields(payload, lang, context, plain=plain)
    if not _may_submit(checked, device_token):
        return error_result(
            401,
            "unauthorized",
            _("A kiosk submission needs this desk's device token (Authorization: Bearer <token>)."),
        )
    accepted = checked.accepted()
    if accepted is None:
        return invalid(checked.errors)
    draft, _codebook, rows = accepted
    if draft.wave_id is None:  # the first valid answer of a feedback period opens it
        period = ensure_feedback_period(
            draft.unit_id, draft.questionnaire_id, local_day(draft.submitted_at)
        )
        draft = replace(draft, wave_id=period)
        fast_path.remember(key, replace(context, wave_id=period))
    return _store(draft, rows)


def _may_submit(checked: Checked, device_token: str | None) -> bool:
    """False for a kiosk submission to a known desk without that desk's device token."""
    desk = checked.desk
    return checked.channel is not Channel.KIOSK or desk is None or authorised(desk, device_token)


def _store(draft: ResponseDraft, rows: list[tuple[int, int]]) -> SubmitResult:
    """The general way: flag a burst, then store the response and its answer rows in
    its own transaction."""
    # Looked for on retries too (one query either way); a retry stores nothing.
    if draft.desk_id is not None and is_burst(
        draft.desk_id, draft.questionnaire_id, draft.wave_id, draft.answers, draft.submitted_at
    ):
        draft = replace(draft, flag_reason=BURST_FLAG)
    return outcome_result(store(draft, rows=rows), draft.client_id)
