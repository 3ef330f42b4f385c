"""Plotly figures of the dashboard, built on the server as JSON: what they share.

Each chart function (:mod:`.charts_trend`, :mod:`.charts_ranking`,
:mod:`.charts_kiosk`) returns the figure's JSON (``fig.to_json()``), made safe to place
inside a ``<script type="application/json">`` block; ``static/dashboard/dashboard.js``
draws it with the plotly.js the app serves itself (``/assets/plotly.min.js``). Numbers
are formatted by plotly.js with the language's separators (``77,2%`` in Vietnamese).
Figures that do not meet the reporting rule are left out of the charts.
"""

from __future__ import annotations

from typing import Any

import plotly.graph_objects as go
import plotly.io as pio

from survey_app import formatting

PALETTE = (
    "#0b5c8a",
    "#c2571a",
    "#2a8a4a",
    "#8a2a6b",
    "#6b5b00",
    "#1f7a8c",
    "#a3271b",
    "#4b4fa8",
    "#5c7a1f",
    "#7a4b1f",
)
REFERENCE_COLOUR = "#5b6b7a"
EMPHASIS_COLOUR = "#0b2f4a"  # the unit being viewed
FONT = "Noto Sans, Segoe UI, Roboto, Helvetica Neue, Arial, sans-serif"


def html_safe_json(figure: go.Figure | dict[str, Any]) -> str:
    """The figure's JSON with ``<``, ``>`` and ``&`` escaped (still valid JSON); a plain
    dict is encoded as plotly encodes its figures."""
    if isinstance(figure, go.Figure):
        text = figure.to_json()
    else:
        text = pio.to_json(figure, validate=False)
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


#: A percentage axis's tick labels: as many decimals as the spacing of its ticks needs.
#: Plotly spaces ticks 1, 2 or 5 times a power of ten apart, so a narrow range (an
#: overall index between 81% and 83%) gets ticks half a point apart, and with no
#: decimals two of them read "82%". Plotly takes the first stop whose range holds the
#: axis's tick spacing (``dtick``), also after the reader zooms in; the bounds sit
#: between the spacings it can choose (0.05 points or less: two decimals; 0.1 to 0.5
#: points: one; 1 point or more: none).
PERCENT_TICKS: dict[str, Any] = {
    "tickformatstops": [
        {"dtickrange": [None, 0.0007], "value": ".2%"},
        {"dtickrange": [None, 0.007], "value": ".1%"},
        {"dtickrange": [None, None], "value": ".0%"},
    ]
}


def chart_layout(lang: str, title: str, y_title: str, percent: bool = True) -> dict:
    return {
        "title": {"text": title, "x": 0, "xanchor": "left", "font": {"size": 16}},
        "font": {"family": FONT, "size": 13, "color": "#1b2733"},
        "separators": formatting.chart_separators(lang),
        "paper_bgcolor": "#ffffff",
        "plot_bgcolor": "#ffffff",
        "margin": {"l": 60, "r": 20, "t": 50, "b": 60},
        "yaxis": {
            "title": {"text": y_title},
            **(PERCENT_TICKS if percent else {"tickformat": ",d"}),
            "gridcolor": "#dde3e8",
            "zeroline": False,
        },
        "xaxis": {"gridcolor": "#eef1f4"},
        "legend": {"orientation": "h", "y": -0.2},
        "hoverlabel": {"font": {"family": FONT}},
    }
