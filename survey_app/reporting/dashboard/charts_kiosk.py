"""The kiosk monitor's small multiples: daily volume and rolling satisfaction per desk."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import plotly.graph_objects as go
from flask_babel import gettext as _
from plotly.subplots import make_subplots

from survey_app.reporting.dashboard.charts import PALETTE, chart_layout, html_safe_json
from survey_app.reporting.dashboard.kiosk import KioskMonitor


def kiosk_charts(monitor: KioskMonitor, lang: str) -> tuple[str, str]:
    """Small multiples, one panel per desk: daily volume (bars; × marks a day with a
    flagged burst) and the rolling seven-day satisfaction rate, on shared axes so the
    desks compare at a glance (ten lines in one chart were a tangle)."""
    shown = [row for row in monitor.desks if row.total or row.last_response is not None]
    tick = "%d/%m" if lang == "vi" else "%b %d"
    volume = _small_multiples(shown, tick)
    rate = _small_multiples(shown, tick)
    for number, row in enumerate(shown):
        place = _panel(number)
        days = [d.day.isoformat() for d in row.days]
        volume.add_trace(
            go.Bar(
                x=days,
                y=[d.responses for d in row.days],
                name=row.desk.name,
                showlegend=False,
                marker={"color": PALETTE[0]},
                hovertemplate="%{x|" + tick + "}: %{y}<extra>" + row.desk.name + "</extra>",
            ),
            **place,
        )
        bursts = [d for d in row.days if d.bursts]
        if bursts:
            volume.add_trace(
                go.Scatter(
                    x=[d.day.isoformat() for d in bursts],
                    y=[d.responses for d in bursts],
                    name=_("Day with a flagged burst"),
                    legendgroup="burst",
                    showlegend=not any(t.legendgroup == "burst" for t in volume.data),
                    mode="markers",
                    marker={"symbol": "x", "size": 11, "color": "#a3271b"},
                    hoverinfo="skip",
                ),
                **place,
            )
        rate.add_trace(
            go.Scatter(
                x=days,
                y=[
                    d.rolling_rate if d.rolling_answered >= monitor.min_answers else None
                    for d in row.days
                ],
                name=row.desk.name,
                showlegend=False,
                mode="lines",
                line={"color": PALETTE[0], "width": 2},
                customdata=[d.rolling_answered for d in row.days],
                hovertemplate="%{y:.1%} (n = %{customdata})<extra>" + row.desk.name + "</extra>",
            ),
            **place,
        )
    volume.update_layout(
        **_multiples_layout(
            lang, _("Responses per day (× marks a day with a flagged burst)"), len(shown)
        )
    )
    volume.update_yaxes(rangemode="tozero")
    rate.update_layout(
        **_multiples_layout(lang, _("Satisfied over the last seven days, by desk"), len(shown))
    )
    rate.update_yaxes(range=[0, 1], tickformat=".0%")
    return html_safe_json(volume), html_safe_json(rate)


#: Panels per row of the kiosk monitor's small multiples.
MULTIPLE_COLUMNS = 2


def _panel(number: int) -> dict[str, int]:
    return {"row": number // MULTIPLE_COLUMNS + 1, "col": number % MULTIPLE_COLUMNS + 1}


def _small_multiples(rows: Sequence[Any], tick: str) -> go.Figure:
    count = max(len(rows), 1)
    figure = make_subplots(
        rows=math.ceil(count / MULTIPLE_COLUMNS),
        cols=MULTIPLE_COLUMNS,
        shared_xaxes=True,
        shared_yaxes=True,
        subplot_titles=[row.desk.name for row in rows] or [""],
        vertical_spacing=min(0.3 / math.ceil(count / MULTIPLE_COLUMNS), 0.08),
        horizontal_spacing=0.06,
    )
    figure.update_xaxes(type="date", tickformat=tick, gridcolor="#eef1f4")
    figure.update_yaxes(gridcolor="#dde3e8", zeroline=False)
    figure.update_annotations(font={"size": 12})
    return figure


def _multiples_layout(lang: str, title: str, panels: int) -> dict[str, Any]:
    layout = chart_layout(lang, title, "")
    for key in ("xaxis", "yaxis"):
        layout.pop(key)
    layout["height"] = 120 + 150 * math.ceil(max(panels, 1) / MULTIPLE_COLUMNS)
    # The legend (the burst marker) goes under the panels' dates, at the bottom of the
    # figure: above them it sat on the top panels' titles.
    layout["legend"] = {"orientation": "h", "x": 0, "xanchor": "left"}
    layout["legend"].update(yref="container", y=0, yanchor="bottom")
    layout["margin"] = {"l": 50, "r": 10, "t": 80, "b": 70}
    layout["bargap"] = 0.1
    return layout
