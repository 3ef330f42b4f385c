"""Security headers on every response: a Content-Security-Policy and its companions.

The policy allows scripts only from the app itself (no inline scripts, no ``eval``, no
other origin: nothing is loaded from the internet at run time), forbids framing, and
lets the kiosk's service worker register from ``/kiosk/sw.js``.

``style-src`` also allows ``'unsafe-inline'``: Plotly's JavaScript sets ``style``
attributes and injects ``<style>`` elements when it draws a chart, which a strict
``style-src 'self'`` would block. That relaxation is for styles only; scripts stay
``'self'``. (The app's own templates use no inline style attributes.) A JSON data
block (``<script type="application/json">``) is not a script and needs no exception.

``img-src`` allows ``blob:`` and ``data:``: Plotly's PNG download (the modebar's
camera) draws the chart's SVG as an image from a ``blob:`` URL onto a canvas; without
it the button silently did nothing. Images only; no script comes from a blob.

``SECURITY_HEADERS`` in the configuration (a mapping) replaces or, with a value of
``None``, removes any of these headers.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from flask import Flask, Response, current_app
from werkzeug.datastructures import Headers

CONTENT_SECURITY_POLICY = "; ".join(
    (
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self' 'unsafe-inline'",
        "img-src 'self' data: blob:",
        "font-src 'self'",
        "connect-src 'self'",
        "worker-src 'self'",
        "manifest-src 'self'",
        "object-src 'none'",
        "base-uri 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    )
)

DEFAULT_HEADERS: dict[str, str] = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "strict-origin-when-cross-origin",
    "X-Frame-Options": "DENY",
    "Cross-Origin-Opener-Policy": "same-origin",
}


def headers_for(config: Mapping[str, Any]) -> dict[str, str | None]:
    """The headers to set, after the ``SECURITY_HEADERS`` overrides in ``config``."""
    headers: dict[str, str | None] = dict(DEFAULT_HEADERS)
    headers.update(config.get("SECURITY_HEADERS") or {})
    return headers


def _changes(
    config: Mapping[str, Any], present: Callable[[str], bool]
) -> tuple[list[str], list[tuple[str, str]]]:
    """The rule, for both kinds of header collection: the names to remove (configured as
    None), and the ``(name, value)`` pairs to add, each unless ``present`` says a header
    of that name is already there."""
    wanted = headers_for(config)
    removed = [name for name, value in wanted.items() if value is None]
    added = [
        (name, value) for name, value in wanted.items() if value is not None and not present(name)
    ]
    return removed, added


def add_security_headers(headers: Headers, config: Mapping[str, Any]) -> None:
    """Add the headers to ``headers`` unless already there; a header configured as None
    is removed. (Flask's responses get them from :func:`set_security_headers`; the
    submission lane, survey_app/blueprints/submission_lane.py, from
    :func:`with_security_headers`.)"""
    removed, added = _changes(config, headers.__contains__)
    for name in removed:
        headers.pop(name, None)
    for name, value in added:
        headers[name] = value


def with_security_headers(
    pairs: list[tuple[str, str]], config: Mapping[str, Any]
) -> list[tuple[str, str]]:
    """:func:`add_security_headers` for a WSGI header list (the submission lane's):
    ``pairs`` with each security header appended unless one of that name is there, and
    without those configured as None. A plain list costs the lane about 1 µs, where
    building werkzeug's ``Headers`` for it cost 13 µs."""
    names = {name.lower() for name, _value in pairs}
    removed, added = _changes(config, lambda name: name.lower() in names)
    gone = {name.lower() for name in removed}
    return [(name, value) for name, value in pairs if name.lower() not in gone] + added


def set_security_headers(response: Response) -> Response:
    """``after_request`` hook: add the headers unless a view already set them."""
    add_security_headers(response.headers, current_app.config)
    return response


def register(app: Flask) -> None:
    app.after_request(set_security_headers)
