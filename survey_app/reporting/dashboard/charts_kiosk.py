"""The kiosk monitor's small multiples: daily volume and rolling satisfaction per desk."""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from functools import lru_cache
from typing import Any

from flask_babel import gettext as _
from plotly.subplots import make_subplots

from survey_app.reporting.dashboard.charts import (
    PALETTE,
    PERCENT_TICKS,
    chart_layout,
    html_safe_json,
)
from survey_app.reporting.dashboard.kiosk import KioskMonitor


def kiosk_charts(monitor: KioskMonitor, lang: str) -> tuple[str, str]:
    """Small multiples, one panel per desk: daily volume (bars; × marks a day with a
    flagged burst) and the rolling seven-day satisfaction rate, on shared axes so the
    desks compare at a glance (ten lines in one chart were a tangle).

    The figures are plotly's own JSON, built as plain dicts on a grid laid out once by
    ``make_subplots`` (:func:`_grid`): building them through ``graph_objects`` took
    about 200 ms of the page's 220 ms (validating every property of every panel)."""
    shown = [row for row in monitor.desks if row.total or row.last_response is not None]
    tick = "%d/%m" if lang == "vi" else "%b %d"
    volume = _small_multiples(shown, tick)
    rate = _small_multiples(shown, tick)
    burst_in_legend = False
    for number, row in enumerate(shown):
        place = _panel(number)
        days = [d.day.isoformat() for d in row.days]
        volume["data"].append(
            {
                "type": "bar",
                "x": days,
                "y": [d.responses for d in row.days],
                "name": row.desk.name,
                "showlegend": False,
                "marker": {"color": PALETTE[0]},
                "hovertemplate": "%{x|" + tick + "}: %{y}<extra>" + row.desk.name + "</extra>",
                **place,
            }
        )
        bursts = [d for d in row.days if d.bursts]
        if bursts:
            volume["data"].append(
                {
                    "type": "scatter",
                    "x": [d.day.isoformat() for d in bursts],
                    "y": [d.responses for d in bursts],
                    "name": _("Day with a flagged burst"),
                    "legendgroup": "burst",
                    "showlegend": not burst_in_legend,
                    "mode": "markers",
                    "marker": {"symbol": "x", "size": 11, "color": "#a3271b"},
                    "hoverinfo": "skip",
                    **place,
                }
            )
            burst_in_legend = True
        rate["data"].append(
            {
                "type": "scatter",
                "x": days,
                "y": [
                    d.rolling_rate if d.rolling_answered >= monitor.min_answers else None
                    for d in row.days
                ],
                "name": row.desk.name,
                "showlegend": False,
                "mode": "lines",
                "line": {"color": PALETTE[0], "width": 2},
                "customdata": [d.rolling_answered for d in row.days],
                "hovertemplate": "%{y:.1%} (n = %{customdata})<extra>" + row.desk.name + "</extra>",
                **place,
            }
        )
    _lay_out(
        volume,
        _multiples_layout(
            lang, _("Responses per day (× marks a day with a flagged burst)"), len(shown)
        ),
        {"rangemode": "tozero"},
    )
    _lay_out(
        rate,
        _multiples_layout(lang, _("Satisfied over the last seven days, by desk"), len(shown)),
        {"range": [0, 1], **PERCENT_TICKS},
    )
    return html_safe_json(volume), html_safe_json(rate)


#: Panels per row of the kiosk monitor's small multiples.
MULTIPLE_COLUMNS = 2


def _panel(number: int) -> dict[str, str]:
    """The axes of panel ``number`` (0-based, row by row), named as ``make_subplots``
    names them: the first panel's are ``x`` and ``y``, the n-th's ``xn`` and ``yn``."""
    suffix = "" if number == 0 else str(number + 1)
    return {"xaxis": "x" + suffix, "yaxis": "y" + suffix}


def _small_multiples(rows: Sequence[Any], tick: str) -> dict[str, Any]:
    """An empty figure (``data`` and ``layout``) with one titled panel per row."""
    return json.loads(_grid(tuple(row.desk.name for row in rows) or ("",), tick))


@lru_cache(maxsize=64)
def _grid(titles: tuple[str, ...], tick: str) -> str:
    """The JSON of an empty ``make_subplots`` figure with a panel per title: laid out once
    per set of desks and language, and copied for each figure."""
    count = len(titles)
    figure = make_subplots(
        rows=math.ceil(count / MULTIPLE_COLUMNS),
        cols=MULTIPLE_COLUMNS,
        shared_xaxes=True,
        shared_yaxes=True,
        subplot_titles=list(titles),
        vertical_spacing=min(0.3 / math.ceil(count / MULTIPLE_COLUMNS), 0.08),
        horizontal_spacing=0.06,
    )
    figure.update_xaxes(type="date", tickformat=tick, gridcolor="#eef1f4")
    figure.update_yaxes(gridcolor="#dde3e8", zeroline=False)
    figure.update_annotations(font={"size": 12})
    return figure.to_json()


def _update(target: dict[str, Any], changes: dict[str, Any]) -> None:
    """Plotly's ``update_layout``: nested properties are merged, others replaced."""
    for key, value in changes.items():
        if isinstance(value, dict) and isinstance(target.get(key), dict):
            _update(target[key], value)
        else:
            target[key] = value


def _lay_out(figure: dict[str, Any], layout: dict[str, Any], y_axes: dict[str, Any]) -> None:
    """Plotly's ``update_layout(layout)`` then ``update_yaxes(y_axes)``: the same change
    on every panel's y axis."""
    _update(figure["layout"], layout)
    for key, axis in figure["layout"].items():
        if key.startswith("yaxis"):
            _update(axis, y_axes)


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
