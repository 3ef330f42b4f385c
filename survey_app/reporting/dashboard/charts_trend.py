"""The overview's trend chart: one line per unit with its 95% CI as a band."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, timedelta

import plotly.graph_objects as go
from flask_babel import gettext as _

from survey_app import formatting
from survey_app.reporting.dashboard.charts import (
    EMPHASIS_COLOUR,
    PALETTE,
    chart_layout,
    html_safe_json,
)
from survey_app.reporting.dashboard.overview import TrendSeries


def _wave_date(wave_start: date, wave_end: date) -> str:
    middle = wave_start + (wave_end - wave_start) / 2
    return middle.isoformat()


def trend_chart(series: Sequence[TrendSeries], lang: str) -> str:
    """One line per unit with its 95% CI as a band; the unit being viewed (the series
    marked ``reference``) is the emphasised line: dark, thick, drawn last (on top), the
    units below it thinner in the palette's colours.

    Per unit three traces: the band's upper edge, its lower edge filled up to the
    upper one (both named "… 95% CI", hidden from the legend) and the estimate line.
    """
    figure = go.Figure()
    ticks: dict[str, str] = {}
    ordered_series = sorted(series, key=lambda item: item.reference)  # the viewed unit last
    for number, item in enumerate(ordered_series):
        name = item.unit.name(lang)
        colour = EMPHASIS_COLOUR if item.reference else PALETTE[(number + 1) % len(PALETTE)]
        xs, ys, lows, highs, hover = [], [], [], [], []
        for point in item.points:
            x = _wave_date(point.wave.start_date, point.wave.end_date)
            ticks[x] = point.wave.name(lang)
            xs.append(x)
            fig = point.figure
            if fig is None or not fig.reportable:
                ys.append(None)
                lows.append(None)
                highs.append(None)
                hover.append([point.wave.name(lang), 0, 0])
            else:
                ys.append(fig.value)
                lows.append(fig.ci_low)
                highs.append(fig.ci_high)
                hover.append([point.wave.name(lang), fig.n, round(fig.n_eff)])
        band = _("%(unit)s, 95%% CI", unit=name)
        # the band: its upper edge, then its lower edge filled up to the upper one
        filled = {"fill": "tonexty", "fillcolor": _translucent(colour)}
        for edge, fill in ((highs, {}), (lows, filled)):
            figure.add_trace(
                go.Scatter(
                    x=xs,
                    y=edge,
                    name=band,
                    legendgroup=name,
                    showlegend=False,
                    mode="lines",
                    line={"width": 0, "color": colour},
                    hoverinfo="skip",
                    **fill,
                )
            )
        figure.add_trace(
            go.Scatter(
                x=xs,
                y=ys,
                name=name,
                legendgroup=name,
                mode="lines+markers",
                line={"color": colour, "width": 4 if item.reference else 2},
                marker={"size": 9 if item.reference else 6},
                customdata=[[*h, lo, hi] for h, lo, hi in zip(hover, lows, highs, strict=True)],
                hovertemplate=(
                    "<b>%{fullData.name}</b><br>%{customdata[0]}<br>%{y:.1%} "
                    "(%{customdata[3]:.1%} – %{customdata[4]:.1%})<br>"
                    + _(
                        "n = %(n)s, effective n = %(n_eff)s",
                        n="%{customdata[1]}",
                        n_eff="%{customdata[2]}",
                    )
                    + "<extra></extra>"
                ),
            )
        )
    layout = chart_layout(lang, _("Overall index by wave (bands: 95% CI)"), _("Satisfied"))
    ordered = sorted(ticks)
    layout["xaxis"].update(
        {
            "type": "date",
            "tickvals": ordered,
            "ticktext": [formatting.month(date.fromisoformat(x)) for x in ordered],
            "range": _padded(ordered),
        }
    )
    figure.update_layout(**layout)
    return html_safe_json(figure)


def _padded(iso_dates: Sequence[str]) -> list[str]:
    if not iso_dates:
        return []
    first, last = date.fromisoformat(iso_dates[0]), date.fromisoformat(iso_dates[-1])
    pad = max((last - first) / 10, timedelta(days=20))
    return [(first - pad).isoformat(), (last + pad).isoformat()]


def _translucent(colour: str, alpha: float = 0.18) -> str:
    red, green, blue = (int(colour[i : i + 2], 16) for i in (1, 3, 5))
    return f"rgba({red},{green},{blue},{alpha})"
