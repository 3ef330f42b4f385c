"""Reviewing bursts of identical answers (analysts and administrators).

Policy: a response flagged as part of a burst (:data:`BURST`, set on submission by
:mod:`survey_app.collection.submissions`) is left out of every published figure
(:mod:`survey_app.reporting.indices` counts only ``flagged=False``) until an analyst
reviews its burst:

- keep: ``flagged=False, flag_reason="burst-kept"``; the answers count from then on;
- exclude: ``flagged=True, flag_reason="burst-excluded"``; they stay out.

A decision applies to a whole burst and can be changed later; each one is written to
the audit log. Only responses inside the reviewer's scope are listed or changed.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from flask import current_app
from sqlalchemy import select

from survey_app import audit, formatting
from survey_app.access import scope_prefix
from survey_app.collection import questionnaire as spec
from survey_app.collection import questionnaires
from survey_app.extensions import db
from survey_app.models import Desk, Response, Unit, User
from survey_app.reporting import figure_store

BURST = "burst"
KEPT = "burst-kept"
EXCLUDED = "burst-excluded"
REASONS = (BURST, KEPT, EXCLUDED)
DECISIONS = {"keep": (False, KEPT), "exclude": (True, EXCLUDED)}
LIMIT = 2000  # responses listed at most (the newest)


class ReviewError(ValueError):
    """A decision that cannot be applied (unknown decision, nothing in scope)."""


@dataclass(frozen=True)
class Burst:
    """Consecutive flagged responses of one desk with identical answers."""

    responses: tuple[Response, ...]
    desk: Desk | None
    unit: Unit
    status: str  # BURST (not reviewed), KEPT or EXCLUDED

    @property
    def ids(self) -> str:
        return ",".join(str(r.id) for r in self.responses)

    @property
    def first(self) -> datetime:
        return _utc(self.responses[0].submitted_at)

    @property
    def last(self) -> datetime:
        return _utc(self.responses[-1].submitted_at)

    @property
    def answers(self) -> dict[str, Any]:
        return self.responses[0].answers

    def shown_answers(self, lang: str) -> list[tuple[str, str]]:
        """(item code, the answer as the citizen saw it) in the questionnaire's order:
        a level with its label (``5 – Rất hài lòng``), options by their labels."""
        definition = questionnaires.parsed(self.responses[0].questionnaire)
        items = definition.items_by_code
        codes = [c for c in definition.item_codes if c in self.answers]
        codes += [c for c in self.answers if c not in items]
        return [(code, _answer_text(items.get(code), self.answers[code], lang)) for code in codes]


def _answer_text(item: spec.Item | None, value: Any, lang: str) -> str:
    if item is not None and item.type in spec.SCALE_TYPES and isinstance(value, int):
        label = item.value_labels(lang).get(value)
        return f"{value} – {label}" if label else formatting.value(value)
    if item is not None and item.type in spec.CHOICE_TYPES:
        labels = {option.code: option.label.get(lang) for option in item.options}
        chosen = value if isinstance(value, list) else [value]
        return ", ".join(labels.get(code, str(code)) for code in chosen)
    return formatting.value(value)


def _utc(moment: datetime) -> datetime:
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _in_scope(user: User, query):  # type: ignore[no-untyped-def]
    prefix = scope_prefix(user)
    query = query.join(Unit, Unit.id == Response.unit_id)
    if prefix is not None:
        query = query.where(Unit.path.startswith(prefix, autoescape=True))
    return query


def bursts(user: User) -> list[Burst]:
    """The flagged (and reviewed) bursts in the user's scope, newest first.

    Responses are grouped into one burst while the desk, the questionnaire, the
    answers and the review status stay the same and each follows the previous one
    within ``BURST_WINDOW_S`` seconds.
    """
    window = timedelta(seconds=float(current_app.config.get("BURST_WINDOW_S", 120)))
    query = _in_scope(
        user,
        select(Response, Unit)
        .where(Response.flag_reason.in_(REASONS))
        .order_by(Response.submitted_at.desc(), Response.id.desc())
        .limit(LIMIT),
    )
    rows = sorted(
        db.session.execute(query).all(),
        key=lambda row: (row[0].desk_id or 0, row[0].questionnaire_id, _utc(row[0].submitted_at)),
    )
    groups: list[list[tuple[Response, Unit]]] = []
    for response, unit in rows:
        if groups:
            previous = groups[-1][-1][0]
            if (
                previous.desk_id == response.desk_id
                and previous.questionnaire_id == response.questionnaire_id
                and previous.answers == response.answers
                and previous.flag_reason == response.flag_reason
                and _utc(response.submitted_at) - _utc(previous.submitted_at) <= window
            ):
                groups[-1].append((response, unit))
                continue
        groups.append([(response, unit)])
    found = [
        Burst(
            tuple(r for r, _u in group),
            group[0][0].desk,
            group[0][1],
            group[0][0].flag_reason or BURST,
        )
        for group in groups
    ]
    # Bursts waiting for a decision first, then the newest.
    found.sort(key=lambda b: b.first, reverse=True)
    found.sort(key=lambda b: b.status != BURST)
    return found


def parse_ids(text: str) -> list[int]:
    """Response ids from the form's comma-separated list (ReviewError if malformed)."""
    try:
        ids = [int(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise ReviewError("malformed response ids") from None
    if not ids or len(ids) > LIMIT or any(i <= 0 or i >= 2**63 for i in ids):
        raise ReviewError("malformed response ids")
    return ids


def review(user: User, response_ids: Sequence[int], decision: str) -> int:
    """Keep or exclude the flagged responses ``response_ids`` (in scope); commit, audit.

    Returns the number of responses changed. Ids outside the user's scope or not
    flagged as a burst are ignored; when none is left, :class:`ReviewError`.
    """
    if decision not in DECISIONS:
        raise ReviewError(f"unknown decision {decision!r}")
    flagged, reason = DECISIONS[decision]
    query = _in_scope(
        user,
        select(Response).where(
            Response.id.in_(list(response_ids)), Response.flag_reason.in_(REASONS)
        ),
    )
    responses = list(db.session.scalars(query))
    if not responses:
        raise ReviewError("no flagged response in scope")
    if flagged:  # a kept response may be in the figure store's sums: take it out
        figure_store.unfold_responses([r.id for r in responses if not r.flagged])
    else:  # a flagged one may be marked in the store's queue: the next fold takes it
        figure_store.requeue([(r.id, r.wave_id) for r in responses if r.flagged])
    for response in responses:
        response.flagged = flagged
        response.flag_reason = reason
    audit.record(
        f"burst.{decision}",
        user=user,
        target=f"desk:{responses[0].desk.code}" if responses[0].desk else None,
        details={"responses": sorted(r.id for r in responses), "decision": decision},
    )
    db.session.commit()
    return len(responses)
