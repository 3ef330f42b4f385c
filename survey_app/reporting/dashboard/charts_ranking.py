"""Plotly figures of the dashboard, built on the server as JSON.

Each function returns the figure's JSON (``fig.to_json()``), made safe to place inside
a ``<script type="application/json">`` block; ``static/dashboard/dashboard.js`` draws
it with the plotly.js the app serves itself (``/assets/plotly.min.js``). Numbers are
formatted by plotly.js with the language's separators (``77,2%`` in Vietnamese).
Figures that do not meet the reporting rule are left out of the charts.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import date, timedelta
from typing import Any

import plotly.graph_objects as go
from flask_babel import format_date
from flask_babel import gettext as _
from plotly.subplots import make_subplots

from survey_app.reporting.dashboard import KioskMonitor, RankingPage, TrendSeries

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


def html_safe_json(figure: go.Figure) -> str:
    """The figure's JSON with ``<``, ``>`` and ``&`` escaped (still valid JSON)."""
    text = figure.to_json()
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def _layout(lang: str, title: str, y_title: str, percent: bool = True) -> dict:
    return {
        "title": {"text": title, "x": 0, "xanchor": "left", "font": {"size": 16}},
        "font": {"family": FONT, "size": 13, "color": "#1b2733"},
        "separators": ",." if lang == "vi" else ".,",
        "paper_bgcolor": "#ffffff",
        "plot_bgcolor": "#ffffff",
        "margin": {"l": 60, "r": 20, "t": 50, "b": 60},
        "yaxis": {
            "title": {"text": y_title},
            "tickformat": ".0%" if percent else ",d",
            "gridcolor": "#dde3e8",
            "zeroline": False,
        },
        "xaxis": {"gridcolor": "#eef1f4"},
        "legend": {"orientation": "h", "y": -0.2},
        "hoverlabel": {"font": {"family": FONT}},
    }


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
        figure.add_trace(
            go.Scatter(
                x=xs,
                y=highs,
                name=band,
                legendgroup=name,
                showlegend=False,
                mode="lines",
                line={"width": 0, "color": colour},
                hoverinfo="skip",
            )
        )
        figure.add_trace(
            go.Scatter(
                x=xs,
                y=lows,
                name=band,
                legendgroup=name,
                showlegend=False,
                mode="lines",
                line={"width": 0, "color": colour},
                fill="tonexty",
                fillcolor=_translucent(colour),
                hoverinfo="skip",
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
    layout = _layout(lang, _("Overall index by wave (bands: 95% CI)"), _("Satisfied"))
    ordered = sorted(ticks)
    layout["xaxis"].update(
        {
            "type": "date",
            "tickvals": ordered,
            "ticktext": [_short_wave(x, lang) for x in ordered],
            "range": _padded(ordered),
        }
    )
    figure.update_layout(**layout)
    return html_safe_json(figure)


def _short_wave(iso: str, lang: str) -> str:
    return format_date(date.fromisoformat(iso), "MM/yyyy" if lang == "vi" else "MMM yyyy")


def _padded(iso_dates: Sequence[str]) -> list[str]:
    if not iso_dates:
        return []
    first, last = date.fromisoformat(iso_dates[0]), date.fromisoformat(iso_dates[-1])
    pad = max((last - first) / 10, timedelta(days=20))
    return [(first - pad).isoformat(), (last + pad).isoformat()]


def _translucent(colour: str, alpha: float = 0.18) -> str:
    red, green, blue = (int(colour[i : i + 2], 16) for i in (1, 3, 5))
    return f"rgba({red},{green},{blue},{alpha})"


def funnel_chart(page: RankingPage, lang: str) -> str:
    """Units at their effective n against the overall value's 95% and 99.8% limits."""
    figure = go.Figure()
    result = page.result
    if result is None:
        return html_safe_json(figure)
    funnel = result.funnel
    overall = result.overall.value
    if funnel:
        grid = funnel["n_eff"]
        for key, label, dash in (
            ("upper998", _("Limits (99.8%)"), "dot"),
            ("lower998", _("Limits (99.8%)"), "dot"),
            ("upper95", _("Limits (95%)"), "dash"),
            ("lower95", _("Limits (95%)"), "dash"),
        ):
            figure.add_trace(
                go.Scatter(
                    x=grid,
                    y=funnel[key],
                    name=label,
                    legendgroup=key[5:],
                    showlegend=key.startswith("upper"),
                    mode="lines",
                    line={"color": REFERENCE_COLOUR, "dash": dash, "width": 1.5},
                    hoverinfo="skip",
                )
            )
        figure.add_trace(
            go.Scatter(
                x=[grid[0], grid[-1]],
                y=[overall, overall],
                name=_("Overall: %(unit)s", unit=result.overall_unit.name(lang)),
                mode="lines",
                line={"color": "#1b2733", "width": 2},
                hoverinfo="skip",
            )
        )
    colours = {"above": "#1d6b3a", "below": "#a3271b", "": "#0b5c8a"}
    for flag, label in (
        ("above", _("above the overall figure")),
        ("below", _("below the overall figure")),
        ("", _("not distinguishable from the overall figure")),
    ):
        rows = [row for row in result.rows if row.flag == flag]
        if not rows:
            continue
        figure.add_trace(
            go.Scatter(
                x=[row.figure.n_eff for row in rows],
                y=[row.figure.value for row in rows],
                text=[row.unit.name(lang) for row in rows],
                customdata=[[row.rank, row.rank_low, row.rank_high] for row in rows],
                name=label,
                mode="markers",
                marker={"size": 11, "color": colours[flag], "line": {"width": 1, "color": "#fff"}},
                hovertemplate=(
                    "<b>%{text}</b><br>%{y:.1%}<br>"
                    + _("effective n = %(n)s", n="%{x:,.0f}")
                    + "<br>"
                    + _(
                        "rank %(rank)s (%(low)s–%(high)s)",
                        rank="%{customdata[0]}",
                        low="%{customdata[1]}",
                        high="%{customdata[2]}",
                    )
                    + "<extra></extra>"
                ),
            )
        )
    layout = _layout(
        lang,
        _("Funnel plot: %(index)s against effective sample size", index=page.index_label),
        _("Satisfied"),
    )
    layout["xaxis"].update({"title": {"text": _("Effective sample size")}})
    figure.update_layout(**layout)
    return html_safe_json(figure)


#: Units' n within this ratio (largest / smallest) are "equal or nearly so": a funnel
#: plot would stack them on one vertical line, so the ranking shows a caterpillar plot.
NEARLY_EQUAL_N = 1.25
FLAG_COLOURS = {"above": "#1d6b3a", "below": "#a3271b", "": "#5b6b7a"}


def ranking_chart_kind(page: RankingPage) -> str:
    """``caterpillar`` when the ranked units' n are equal or nearly so, else ``funnel``."""
    rows = page.result.rows if page.result is not None else ()
    sizes = [row.figure.n for row in rows if row.figure.n]
    if len(sizes) >= 2 and max(sizes) <= NEARLY_EQUAL_N * min(sizes):
        return "caterpillar"
    return "funnel"


def ranking_chart(page: RankingPage, lang: str) -> tuple[str, str]:
    """(kind, figure JSON): a caterpillar plot at (nearly) equal n, else a funnel plot."""
    kind = ranking_chart_kind(page)
    if kind == "caterpillar":
        return kind, caterpillar_chart(page, lang)
    return kind, funnel_chart(page, lang)


def caterpillar_chart(page: RankingPage, lang: str) -> str:
    """Each unit's estimate with its 95% interval, ordered; coloured only when the unit
    differs from the overall figure after Holm's adjustment (RankRow.flag)."""
    figure = go.Figure()
    result = page.result
    if result is None:
        return html_safe_json(figure)
    rows = sorted(result.rows, key=lambda row: row.figure.value)
    names = [row.unit.name(lang) for row in rows]
    for flag, label in (
        ("above", _("above the overall figure (after Holm's adjustment)")),
        ("below", _("below the overall figure (after Holm's adjustment)")),
        ("", _("not distinguishable from the overall figure")),
    ):
        chosen = [row for row in rows if row.flag == flag]
        if not chosen:
            continue
        figure.add_trace(
            go.Scatter(
                x=[row.figure.value for row in chosen],
                y=[row.unit.name(lang) for row in chosen],
                customdata=[
                    [row.figure.ci_low, row.figure.ci_high, row.rank, row.rank_low, row.rank_high]
                    for row in chosen
                ],
                error_x={
                    "type": "data",
                    "symmetric": False,
                    "array": [row.figure.ci_high - row.figure.value for row in chosen],
                    "arrayminus": [row.figure.value - row.figure.ci_low for row in chosen],
                    "color": FLAG_COLOURS[flag],
                    "thickness": 2,
                    "width": 0,
                },
                name=label,
                mode="markers",
                marker={"size": 10, "color": FLAG_COLOURS[flag]},
                hovertemplate=(
                    "<b>%{y}</b><br>%{x:.1%} (%{customdata[0]:.1%}–%{customdata[1]:.1%})<br>"
                    + _(
                        "rank %(rank)s (%(low)s–%(high)s)",
                        rank="%{customdata[2]}",
                        low="%{customdata[3]}",
                        high="%{customdata[4]}",
                    )
                    + "<extra></extra>"
                ),
            )
        )
    overall = result.overall.value
    figure.add_trace(
        go.Scatter(
            x=[overall, overall],
            y=[names[0], names[-1]] if names else [],
            name=_("Overall: %(unit)s", unit=result.overall_unit.name(lang)),
            mode="lines",
            line={"color": "#1b2733", "width": 2, "dash": "dash"},
            hoverinfo="skip",
        )
    )
    layout = _layout(
        lang,
        _("%(index)s by unit, with 95%% confidence intervals", index=page.index_label),
        "",
    )
    layout["yaxis"] = {
        "categoryorder": "array",
        "categoryarray": names,
        "automargin": True,
        "gridcolor": "#eef1f4",
    }
    layout["xaxis"] = {
        "title": {"text": _("Satisfied")},
        "tickformat": ".0%",
        "gridcolor": "#dde3e8",
        "zeroline": False,
    }
    layout["height"] = max(360, 90 + 26 * len(rows))
    figure.update_layout(**layout)
    return html_safe_json(figure)


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
    layout = _layout(lang, title, "")
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
