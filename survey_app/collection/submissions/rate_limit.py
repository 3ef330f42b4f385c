"""The rate limit of submissions: per kiosk device token, else per client address.

Counted in Flask-Limiter's shared storage with its strategy; on PostgreSQL with the
``survey-sql://`` storage the single insert statement counts the hit itself
(:class:`LimitHit`), in one commit with the response.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from functools import cache
from typing import Any

from flask import current_app
from flask_babel import gettext as _
from limits import RateLimitItem
from limits import parse as parse_limit
from limits.strategies import FixedWindowRateLimiter

from survey_app.collection.submissions.context import DeskRef, authorised
from survey_app.collection.submissions.result import SubmitResult, error_result
from survey_app.extensions import limiter
from survey_app.ratelimit_storage import DatabaseStorage

#: The limiter's namespace of submission hits (part of each counter's key).
NAMESPACE = "submit"


@cache
def _limit(text: str) -> RateLimitItem:
    return parse_limit(text)


def _limiting() -> bool:
    return bool(current_app.config.get("RATELIMIT_ENABLED", True)) and limiter.enabled


def _limit_for(
    desk: DeskRef | None, device_token: str | None, client_ip: str | None
) -> tuple[RateLimitItem, str]:
    """The limit that applies to a request and the key it counts under.

    The device limit (``RATELIMIT_SUBMIT_KIOSK``) applies, whatever the address, when
    the request carries the current token of the desk it names. Any other request
    counts against its client address (behind a proxy: the one ProxyFix found, see
    ``TRUSTED_PROXIES``) with ``RATELIMIT_SUBMIT_PHONE``; one that presents a device
    token that is not valid counts in a bucket of its own, so a kiosk with a stale
    token or someone guessing tokens never uses up the citizens' phone quota, not even
    on the same network.
    """
    if desk is not None and authorised(desk, device_token):
        limit_text, key = current_app.config["RATELIMIT_SUBMIT_KIOSK"], f"desk:{desk.id}"
    elif device_token:
        limit_text, key = current_app.config["RATELIMIT_SUBMIT_PHONE"], f"token-ip:{client_ip}"
    else:
        limit_text, key = current_app.config["RATELIMIT_SUBMIT_PHONE"], f"ip:{client_ip}"
    return _limit(str(limit_text)), key


@dataclass(frozen=True)
class LimitHit:
    """A rate-limit hit that the single insert statement counts itself.

    Only with the ``survey-sql://`` storage and the fixed-window strategy (the app's
    defaults): the statement runs the storage's own upsert on the same key, so the
    count is the one :func:`rate_limited` would have made, in one commit with the
    response instead of a commit of its own.
    """

    item: RateLimitItem
    key: str
    storage: DatabaseStorage

    def params(self) -> dict[str, Any]:
        now = time.time()
        self.storage.sweep(now)
        return {
            "limit_key": self.storage.storage_key(self.item.key_for(NAMESPACE, self.key)),
            "limit_amount": self.item.amount,
            "limit_expires_at": now + self.item.get_expiry(),
            "limit_now": now,
        }

    def count(self) -> None:
        """Count the hit through the limiter, as :func:`rate_limited` does, when the
        statement that would have counted it did not run.

        Raises
        ------
        OverLimitError
            When the hit is over its limit.
        """
        if not counted(self.item, self.key):
            raise OverLimitError(self)


class OverLimitError(Exception):
    """The single statement counted a hit over its limit (nothing was stored)."""

    def __init__(self, hit: LimitHit) -> None:
        super().__init__(hit.key)
        self.hit = hit


def statement_hit(
    desk: DeskRef | None, device_token: str | None, client_ip: str | None
) -> LimitHit | None:
    """The hit for the insert statement to count, or None when the limiter counts it
    itself (another storage or strategy) or is off."""
    if not _limiting():
        return None
    strategy = limiter.limiter
    if type(strategy) is not FixedWindowRateLimiter:
        return None
    storage = strategy.storage
    if not isinstance(storage, DatabaseStorage):
        return None
    item, key = _limit_for(desk, device_token, client_ip)
    return LimitHit(item, key, storage)


def rate_limited(
    desk: DeskRef | None, device_token: str | None, client_ip: str | None
) -> SubmitResult | None:
    """Count this attempt; a 429 result if the device (or address) is over its limit
    (:func:`_limit_for`)."""
    if not _limiting():
        return None
    item, key = _limit_for(desk, device_token, client_ip)
    return None if counted(item, key) else too_many(item, key)


def counted(item: RateLimitItem, key: str) -> bool:
    """Count one attempt of ``key`` through the limiter; whether it is within ``item``.
    (The single insert statement counts it itself instead: :class:`LimitHit`.)"""
    return limiter.limiter.hit(item, NAMESPACE, key)


def too_many(item: RateLimitItem, key: str) -> SubmitResult:
    """429 with the seconds until the window of ``key`` ends (Retry-After)."""
    reset_at = limiter.limiter.get_window_stats(item, NAMESPACE, key).reset_time
    retry_after = max(1, math.ceil(reset_at - time.time()))
    result = error_result(
        429,
        "too_many_requests",
        _("Too many responses from this device. Please wait a moment and try again."),
    )
    return SubmitResult(result.status, result.body, {"Retry-After": str(retry_after)})
