"""Changes between waves, trends and rankings, with the sentences leaders read.

Multiple comparisons: when every unit of a ranking is compared with the overall
figure, the p-values are adjusted by Holm's method, so the chance of flagging any
unit wrongly stays below 5%; the funnel plot's 99.8% limits serve the same purpose
visually (Spiegelhalter 2005). Rank intervals come from simulating the whole table
from the estimates' joint distribution with a fixed seed, so a page shows the same
intervals every time.

- ``wording``: sizes in points, p-values, significance and the sentences for a
  change and for two units' difference.
- ``changes``: a unit's change between two waves (:class:`changes.Change`), many
  units' changes, two units' difference in one wave, whether two waves are a panel.
- ``trends``: a unit's trend across three or more waves (:class:`trends.TrendResult`).
- ``rankings``: rankings with rank intervals, Holm-adjusted comparisons with the
  overall figure and the funnel plot (:class:`rankings.RankingResult`).

Import direction inside: ``trends`` and ``rankings`` > ``changes`` > ``wording``.
"""
