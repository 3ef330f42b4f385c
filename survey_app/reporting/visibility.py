"""Who sees which figure: the reporting rule applied by role, and small-area figures.

A published figure (:class:`~survey_app.reporting.indices.figures.IndexFigure`) that
fails the reporting rule reaches a leader blanked (:func:`visible`); analysts and
administrators see it flagged. Where a level is shown, a commune's overall rate that is
not reportable is replaced by its small-area estimate when the survey team switched
them on (:func:`small_area_figure`). Pages, the scorecard and the API's reads pass
every figure through here.

Direction: above :mod:`survey_app.reporting.indices` and
:mod:`survey_app.reporting.small_area` (which estimates from the indices' figures).
"""

from __future__ import annotations

import math
from dataclasses import replace

from flask import g

from survey_app.collection.scoring import IndexRequestError
from survey_app.extensions import db
from survey_app.models import Role, User, Wave
from survey_app.reporting.indices.figures import IndexFigure, IndexResult, Inference
from survey_app.reporting.small_area import publication
from survey_app.reporting.small_area.results import SmallAreaError, SmallAreaResult


def shows_unreportable(viewer: User | None) -> bool:
    """Whether ``viewer`` may see figures that fail the reporting rule (analysts and
    administrators, who check the data; leaders read only publishable figures)."""
    return viewer is not None and viewer.role in (Role.ANALYST, Role.ADMIN)


def visible(figure: IndexFigure, viewer: User | None, *, small_area: bool = False) -> IndexFigure:
    """The figure as ``viewer`` may see it: the reporting rule applied by role.

    A figure that fails the rule (``reportable`` False: effective n below
    ``MIN_EFFECTIVE_N`` or CI half-width above ``MAX_CI_HALF_WIDTH``) reaches a leader
    with its value, standard error, interval and df blanked (NaN), so no page, chart,
    sentence or API answer built from it can show them; n, effective n and the flag
    stay, so the page can say "not enough data". Analysts and administrators get the
    figure unchanged (still flagged). Rankings leave such figures out for leaders
    (:func:`survey_app.reporting.comparisons.rankings.ranking`, ``reportable_only``).

    ``small_area``: where a level is shown (tables, the scorecard's headline, the API's
    figures; not changes, trends or ranks, whose covariances are the direct figures'),
    a commune's overall rate that is not reportable is replaced by its small-area
    estimate when the survey team switched them on (:func:`small_area_figure`); the
    reporting rule then applies to that estimate.
    """
    if small_area:
        figure = small_area_figure(figure)
    if figure.reportable or shows_unreportable(viewer):
        return figure
    nan = math.nan
    return replace(figure, value=nan, se=nan, ci_low=nan, ci_high=nan, df=nan)


def for_viewer(
    result: IndexResult, viewer: User | None, *, small_area: bool = False
) -> IndexResult:
    """``result`` with every figure passed through :func:`visible`."""
    if shows_unreportable(viewer) and not small_area:
        return result
    figures = tuple(visible(f, viewer, small_area=small_area) for f in result.figures)
    return replace(result, figures=figures)


def small_area_figure(figure: IndexFigure) -> IndexFigure:
    """``figure``, or its small-area estimate where one replaces it.

    Only a field survey's overall rate of a unit (no breakdown) that fails the
    reporting rule, in a wave whose survey team switched small-area figures on
    (:func:`survey_app.reporting.small_area.publication.published`), and only for a commune the
    model covers. The estimate keeps the figure's n and scheme; its interval comes from
    the model's MSE; it has no design df; ``inference`` says "small-area".

    Raises
    ------
    IndexRequestError
        The wave's switched-on model can no longer be fitted (the reason).
    """
    domain = figure.domain
    if (
        figure.reportable
        or figure.inference != Inference.DESIGN
        or (figure.code, figure.kind) != ("overall", "rate")
        or domain.field_id is not None
        or domain.channel is not None
    ):
        return figure
    fit = _small_area_fit(domain.wave_id)
    if fit is None:
        return figure
    try:
        commune = fit.commune(domain.unit_id)
    except KeyError:
        return figure
    return replace(
        figure,
        value=commune.eblup,
        se=commune.se,
        ci_low=commune.ci_low,
        ci_high=commune.ci_high,
        df=math.nan,
        inference=Inference.SMALL_AREA,
        reportable=bool(commune.reportable),
    )


def _small_area_fit(wave_id: int) -> SmallAreaResult | None:
    """The wave's switched-on small-area fit, once per request."""
    cache = g.setdefault("small_area_fits", {})
    if wave_id not in cache:
        wave = db.session.get(Wave, wave_id)
        try:
            cache[wave_id] = publication.published(wave) if wave is not None else None
        except SmallAreaError as error:
            raise IndexRequestError(str(error)) from error
    return cache[wave_id]
