"""Shared set-up for the browser tests (headless Chromium driven by Playwright).

- ``CHROMIUM``, ``CHROMIUM_ARGS``: Debian's Chromium and how it is started (Playwright's
  own browser download is never used).
- ``seed_desk``: a commune, desk ``Q-C`` and the shipped questionnaires in the live
  server's database.
- ``responses``: what the live server stored.
- ``drawn``: wait until a page has loaded and drawn its charts, each trace by a module
  of the plotly.js bundle served (``unknown_traces``).
- ``foreign_fonts``: the form controls not drawn in the page's font.
- ``overlapping``: the pairs of drawn texts whose boxes overlap.
- ``assert_accessible``: axe-core run in the page (installed by ``fetch_axe.sh`` into
  the git-ignored ``tests/browser/.axe/``), no serious or critical violations allowed.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from playwright.sync_api import Page
from sqlalchemy import select

from survey_app.admin import units
from survey_app.collection import desks, questionnaires
from survey_app.extensions import db
from survey_app.models import Response

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
AXE = (
    Path(__file__).resolve().parents[1]
    / "browser"
    / ".axe"
    / "node_modules"
    / "axe-core"
    / "axe.min.js"
)


def seed_desk(app: Flask, *, token: bool = False) -> str | None:
    """Create desk Q-C (and a device token if asked); return the token."""
    with app.app_context():
        units.import_units([{"code": "C", "name_vi": "Xã Đông", "name_en": "East commune",
                             "kind": "commune", "parent_code": ""}])  # fmt: skip
        questionnaires.load_folder(Path(app.config["QUESTIONNAIRE_DIR"]))
        desks.create_desk("Q-C", "C", "Quầy một cửa xã Đông")
        issued = desks.issue_token("Q-C") if token else None
        db.session.remove()
    return issued


def responses(app: Flask) -> list[dict[str, Any]]:
    """The stored responses as plain dicts (client id, channel, lang, answers)."""
    with app.app_context():
        rows = db.session.scalars(select(Response).order_by(Response.id)).all()
        result = [
            {"id": str(r.client_id), "channel": r.channel.value, "lang": r.lang,
             "answers": r.answers}
            for r in rows
        ]  # fmt: skip
        db.session.remove()
    return result


def drawn(page: Page) -> None:
    """Wait until the page has loaded and every chart on it is drawn.

    The leader pages fetch nothing after loading (each chart's figure is in the page and
    drawn by dashboard.js), so this is what ``wait_for_load_state("networkidle")`` waited
    for, without its 500 ms of network silence on every page.
    """
    page.wait_for_load_state("load")
    page.wait_for_function(
        "() => [...document.querySelectorAll('.plotly-chart')]"
        ".every(div => div.querySelector('.main-svg'))"
    )
    unknown = unknown_traces(page)
    assert unknown == [], f"{page.url}: trace types the plotly.js bundle lacks: {unknown}"


def unknown_traces(page: Page) -> list[str]:
    """The charts' traces whose type the served plotly.js bundle does not hold, as
    ``"<chart id>: <type>"``. plotly.js draws such a trace as nothing: it makes it an
    invisible scatter trace, without an error (the app serves plotly.js's basic bundle,
    :mod:`survey_app.plotly_bundle`)."""
    return page.evaluate(
        """() => [...document.querySelectorAll('.js-plotly-plot')].flatMap(div =>
            (div._fullData || []).filter(t => (t._input.type || 'scatter') !== t.type)
                .map(t => `${div.id}: ${t._input.type}`))"""
    )


def assert_accessible(page: Page) -> None:
    """No serious or critical axe-core violation on the page as it is now."""
    if not AXE.exists():
        pytest.skip("axe-core is not installed: run tests/browser/fetch_axe.sh")
    # Evaluated through the DevTools protocol rather than injected as a <script>: the
    # app's Content-Security-Policy (rightly) refuses inline scripts.
    page.evaluate(AXE.read_text(encoding="utf-8") + "\n;true")
    result = page.evaluate(
        "() => axe.run(document, {resultTypes: ['violations']})"
        ".then(r => r.violations.map(v => ({id: v.id, impact: v.impact, help: v.help,"
        " nodes: v.nodes.map(n => n.target.join(' ')).slice(0, 3)})))"
    )
    bad = [v for v in result if v["impact"] in ("serious", "critical")]
    assert bad == [], bad


def page_errors(page: Page) -> list[str]:
    """A list that fills with the page's console errors and uncaught exceptions."""
    errors: list[str] = []
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    page.on("pageerror", lambda error: errors.append(str(error)))
    return errors


def accessible_where_installed(page: Page) -> None:
    """axe-core's check where it is installed (scripts/test.sh installs it), without
    skipping the rest of the test where it is not."""
    if AXE.exists():
        assert_accessible(page)


def foreign_fonts(page: Page) -> list[str]:
    """The form controls drawn in another font than the page's (browsers give buttons
    and fields their own system font: every staff page's buttons were in Arial)."""
    return page.evaluate(
        """() => {
          const font = getComputedStyle(document.body).fontFamily;
          return [...document.querySelectorAll('button, select, textarea, input')]
            .filter(e => !['hidden', 'checkbox', 'radio'].includes(e.type)
                         && !e.closest('.modebar') && e.getClientRects().length > 0)
            .filter(e => getComputedStyle(e).fontFamily !== font)
            .map(e => `${e.tagName.toLowerCase()}[${e.name || e.type}] `
                      + getComputedStyle(e).fontFamily);
        }"""
    )


def overlapping(boxes: list[dict[str, Any]]) -> list[tuple[str, str]]:
    """The pairs of texts whose boxes (``text`` and the edges ``l``, ``r``, ``t``, ``b``,
    as a test read them from ``getBoundingClientRect``) overlap."""
    return [
        (a["text"], b["text"])
        for i, a in enumerate(boxes)
        for b in boxes[i + 1 :]
        if a["l"] < b["r"] and b["l"] < a["r"] and a["t"] < b["b"] and b["t"] < a["b"]
    ]
