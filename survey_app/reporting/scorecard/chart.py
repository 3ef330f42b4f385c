"""The scorecard's trend as a small static SVG chart (it prints sharply, needs no script)."""

from __future__ import annotations

import math

from flask_babel import gettext as _
from markupsafe import Markup, escape

from survey_app import formatting
from survey_app.models import Wave
from survey_app.reporting.scorecard.card import Scorecard


def trend_svg(card: Scorecard, lang: str) -> Markup:
    """A small static SVG chart of the overall rate with its 95% CI per wave.

    Static SVG prints sharply and needs no script, so the page and its PDF (WeasyPrint)
    show the same chart. Points below the reporting rule are drawn hollow.
    """
    points = card.trend
    width, height = 640, 240
    left, right, top, bottom = 48, 16, 14, 64
    plot_w, plot_h = width - left - right, height - top - bottom
    kind = card.overall.rate.kind
    top_value = 1.0 if kind == "rate" else 100.0

    def y(value: float) -> float:
        clipped = min(max(value, 0.0), top_value)
        return top + plot_h * (1 - clipped / top_value)

    def x(i: int) -> float:
        if len(points) == 1:
            return left + plot_w / 2
        return left + plot_w * (0.06 + 0.88 * i / (len(points) - 1))

    title = escape(_("Overall index by wave, with confidence intervals (95%)"))
    parts = [
        '<svg xmlns="http://www.w3.org/2000/svg" class="trend-chart" '
        f'viewBox="0 0 {width} {height}" role="img" aria-labelledby="trend-title">'
        f'<title id="trend-title">{title}</title>'
    ]
    for tick in (0, 25, 50, 75, 100):
        ty = y(tick / 100 * top_value)
        parts.append(
            f'<line x1="{left}" x2="{width - right}" y1="{ty:.1f}" y2="{ty:.1f}" '
            'stroke="#dde3e8" stroke-width="1"/>'
            f'<text x="{left - 6}" y="{ty + 4:.1f}" text-anchor="end" font-size="11" '
            f'fill="#5b6b7a">{tick}{"%" if kind == "rate" else ""}</text>'
        )
    shown = [(i, p.figure) for i, p in enumerate(points) if not math.isnan(p.figure.value)]
    if len(shown) > 1:
        # The 95% band between the waves, then the line of the estimates.
        upper = " ".join(f"{x(i):.1f},{y(f.ci_high):.1f}" for i, f in shown)
        lower = " ".join(f"{x(i):.1f},{y(f.ci_low):.1f}" for i, f in reversed(shown))
        parts.append(f'<polygon points="{upper} {lower}" fill="#0b5c8a" fill-opacity="0.15"/>')
        line = " ".join(f"{x(i):.1f},{y(f.value):.1f}" for i, f in shown)
        parts.append(f'<polyline points="{line}" fill="none" stroke="#0b5c8a" stroke-width="2"/>')
    for i, point in enumerate(points):
        fig = point.figure
        cx = x(i)
        hidden = math.isnan(fig.value)  # failing the reporting rule, for a leader
        if not hidden:
            low, high = y(fig.ci_low), y(fig.ci_high)
            parts.append(
                f'<path class="ci" d="M{cx - 7:.1f},{low:.1f}H{cx + 7:.1f}M{cx:.1f},{low:.1f}'
                f'V{high:.1f}M{cx - 7:.1f},{high:.1f}H{cx + 7:.1f}" stroke="#0b5c8a" '
                'stroke-width="2" fill="none"/>'
            )
            fill = "#0b5c8a" if fig.reportable else "#ffffff"
            current = point.wave.id == card.wave.id
            parts.append(
                f'<circle cx="{cx:.1f}" cy="{y(fig.value):.1f}" r="{4.5 if current else 3.5}" '
                f'fill="{fill}" stroke="#0b5c8a" stroke-width="2"/>'
            )
        if fig.reportable:
            # Above the interval's top, clear of the line that runs through the point.
            parts.append(
                f'<text x="{cx:.1f}" y="{y(fig.ci_high) - 6:.1f}" text-anchor="middle" '
                f'font-size="12" fill="#1b2733">'
                f"{escape(formatting.index_value(fig.value, fig.kind))}</text>"
            )
        label = _wave_label(point.wave, lang)
        tx, anchor = _label_position(cx, label, width)
        for row, text in enumerate(label):
            last = row == len(label) - 1  # the month, smaller and grey
            parts.append(
                f'<text x="{tx:.1f}" y="{height - bottom + 16 + 13 * row}" '
                f'text-anchor="{anchor}" font-size="{10 if last else 11}" '
                f'fill="{"#5b6b7a" if last else "#1b2733"}">{escape(text)}</text>'
            )
    parts.append("</svg>")
    return Markup("".join(parts))  # every text above is escaped


#: The width of a character of the labels' 11 px Noto Sans, on average, in SVG units.
CHAR_WIDTH = 6.2


def _label_position(cx: float, lines: list[str], width: float) -> tuple[float, str]:
    """Where a label centred under its point would leave the chart (the first and the
    last waves' long names), it is aligned with the chart's edge instead."""
    half = CHAR_WIDTH * max(len(line) for line in lines) / 2
    if cx - half < 2:
        return 2, "start"
    if cx + half > width - 2:
        return width - 2, "end"
    return cx, "middle"


def _wave_label(wave: Wave, lang: str, width: int = 30) -> list[str]:
    """The wave's name under its point (at most two lines), then its fieldwork month."""
    words, lines = wave.name(lang).split(), [""]
    for word in words:
        if lines[-1] and len(lines[-1]) + 1 + len(word) > width:
            if len(lines) == 2:
                lines[-1] += "…"
                break
            lines.append("")
        lines[-1] = f"{lines[-1]} {word}".strip()
    return [*lines, formatting.month(wave.start_date)]
