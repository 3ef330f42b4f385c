"""Satisfaction indices from the database, aggregated in SQL.

The database returns, per wave x unit x stratum x PSU (and optionally procedure field
and channel), the weighted sums of satisfied answers, valid answers and points of
each index item, plus respondent counts and sums of weights. That table of
sufficient statistics is all :mod:`analysis.indices` needs for estimates, standard
errors and the covariance across domains; no response row is loaded.

Designs
-------
- Field survey waves (probability samples): strata and PSUs as recorded on each
  response (a response without a PSU is its own PSU); design-based inference.
- Continuous feedback waves (self-selected kiosk and phone answers): strata are the
  desks and each desk-day is treated as a cluster (answers given at one desk on one
  day share staff and queue); the intervals are model-based and say so.

Weights: the wave's active weighting scheme when there is one, else the design weight
recorded on the response, else 1 (unweighted).

Flagged responses: a response flagged for review (``responses.flagged``, e.g. a burst
of identical answers from one desk) is left out of every published figure until an
analyst reviews it on the burst review page (:mod:`survey_app.reporting.bursts`).
"Keep" clears the flag and the response counts from then on; "exclude" leaves it
flagged and out. The rule is one condition on the responses the aggregation reads.

Files
-----
- :mod:`.compute`: the entry point, :func:`~.compute.compute` (waves x units -> an
  :class:`~.figures.IndexResult`), and the waves' rule for lonely PSUs.
- :mod:`.figures`: what it returns (:class:`~.figures.IndexFigure`,
  :class:`~.figures.IndexResult`, :class:`~.figures.DomainKey`,
  :class:`~.figures.Inference`) and the message shown where a figure cannot be
  computed.
- :mod:`.sql`: the three GROUP BY queries (:func:`~.sql.aggregate`), the strata, PSUs
  and weights of each kind of wave, the breakdown filters.
- :mod:`.stored`: the figure store's sums read back as those rows.
- :mod:`.weighted`: the published designs of waves with an active weighting scheme
  and their calibrated respondents.
- :mod:`.statistics`: the rows turned into :class:`analysis.indices.PSUTotals`.

Who may see which figure (the reporting rule by role, small-area substitution) is
:mod:`survey_app.reporting.visibility`, above this package and
:mod:`survey_app.reporting.small_area`. A request that cannot be answered raises
:class:`survey_app.collection.scoring.IndexRequestError` (a 422 with the reason).

Direction inside: ``compute`` imports every other file; ``statistics`` imports
``figures`` and ``weighted``; ``stored`` imports ``sql``; ``figures``, ``sql`` and
``weighted`` import none of the others.

Result types
------------
- :class:`analysis.indices.IndexValue`: an index's numbers (code, kind, value, SE,
  interval, df, n, effective n, level, half-width in points), defined once. Two types
  extend it:

  - :class:`analysis.indices.IndexEstimate`, the estimator's (+ the domain's position
    in the totals): :func:`analysis.indices.estimate_indices` and
    :func:`~analysis.indices.estimate_on_design` return it; the weighting preview's
    headline and an alert's rolling windows carry one.
  - :class:`.figures.IndexFigure`, the published one (+ its :class:`~.figures.DomainKey`,
    weighting scheme, kind of inference, the reporting rule's verdict, the lonely-PSU
    rule and the finite population correction): every page, chart, sentence, alert
    and API answer shows one. A leader's copy of an unreportable figure is the same
    type blanked (:func:`survey_app.reporting.visibility.visible`); a commune's
    small-area estimate is shown as one too (inference "small-area").

- :class:`analysis.compare.Contrast`: a tested contrast (value, SE, interval, df,
  p-value, level), defined once. :class:`analysis.indices.Difference` is the
  difference of two figures (:meth:`.figures.IndexResult.difference`,
  :func:`analysis.alerts.window_change`); :class:`analysis.compare.Trend` a slope
  per year (its value read as ``slope``). A change between two waves
  (:class:`survey_app.reporting.comparisons.changes.Change`) holds its two figures and their
  Difference; a unit's trend (:class:`~survey_app.reporting.comparisons.trends.TrendResult`)
  is a Trend with the figures it is drawn from.
- Not an estimate of one index, kept apart: :class:`analysis.results.Estimate` (the
  statistics library's general estimators of any column: mean, total, proportion,
  ratio, with design effect and interval method; what the command line and the R
  comparisons read) and :class:`survey_app.reporting.small_area.results.CommuneEstimate` (a
  commune's direct and small-area figures side by side with the model's terms).
- JSON: :func:`survey_app.reporting.queries.figure_json` is the API's form of an
  :class:`~.figures.IndexFigure`; an alert keeps the figures it fired on as JSON in
  the database, taken from an :class:`~analysis.indices.IndexValue` and a
  :class:`~analysis.indices.Difference` (:mod:`survey_app.reporting.alerts.index_drop`).
"""
