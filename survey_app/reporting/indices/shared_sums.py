"""A wave's sums read once per page request, however many figures the page computes.

A leader's page computes several results from the same waves: the overview's trend
series, the change between the last two waves and the trend line are three calls of
:func:`.compute.compute`, and each used to run the aggregation queries again.
:func:`.compute.compute` reads its sums wave by wave through :func:`shared`; during a
GET or HEAD request (which changes no answer, weight or scheme) the first read of a
wave's sums, for one questionnaire version, breakdown, filter and weighting, is kept on
``flask.g`` and the later ones reuse it. Outside such a request (commands, jobs, POST
handlers, tests that store answers between two computations) every call reads again.
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


def shared(key: Hashable, read: Callable[[], T]) -> T:
    """``read()``, or what it returned for ``key`` earlier in this GET request."""
    memo = g.get("wave_sums") if has_app_context() else None
    if memo is None:
        return read()
    if key not in memo:
        memo[key] = read()
    return memo[key]
