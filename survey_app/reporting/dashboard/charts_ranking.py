"""The ranking's charts: a funnel plot, or a caterpillar plot when the units' n are
(nearly) equal."""

from __future__ import annotations

import plotly.graph_objects as go
from flask_babel import gettext as _

from survey_app.reporting.dashboard.charts import (
    PERCENT_TICKS,
    REFERENCE_COLOUR,
    chart_layout,
    html_safe_json,
)
from survey_app.reporting.dashboard.ranking import RankingPage


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
    layout = chart_layout(
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
    layout = chart_layout(
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
        **PERCENT_TICKS,
        "gridcolor": "#dde3e8",
        "zeroline": False,
    }
    layout["height"] = max(360, 90 + 26 * len(rows))
    figure.update_layout(**layout)
    return html_safe_json(figure)
