"""A wave's sums read once per page request, however many figures the page computes.

A leader's page computes several results from the same waves: the overview's trend
series, the change between the last two waves and the trend line are three calls of
:func:`.compute.compute`, and each used to run the aggregation queries again.
:func:`.compute.compute` keeps each wave's sums in :func:`request_memo` during a GET
or HEAD request (which changes no answer, weight or scheme): the first read of a wave's
sums, for one questionnaire version, breakdown, filter and weighting, is kept on
``flask.g`` and later computations reuse it (reading the waves they lack in one go).
Outside such a request (commands, jobs, POST handlers, tests that store answers between
two computations) every call reads again.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable
from typing import TypeVar

from flask import g, has_app_context, request

T = TypeVar("T")


def share_within_request() -> None:
    """``before_request`` hook: a GET or HEAD request shares the sums it reads."""
    if request.method in ("GET", "HEAD"):
        g.wave_sums = {}


def request_memo() -> dict | None:
    """The sums kept in this GET request, by key; None outside such a request."""
    return g.get("wave_sums") if has_app_context() else None


def within_request(key: Hashable, make: Callable[[], T]) -> T:
    """``make()``, read once per GET request under ``key`` (every call outside such a
    request): what each computation of a page reads besides the sums (the units'
    paths, a wave's sample frame, the active schemes) is read once for the page."""
    memo = request_memo()
    if memo is None:
        return make()
    if key not in memo:
        memo[key] = make()
    return memo[key]
