"""Reporting: the figures and everything that shows them.

- Figures: the indices aggregated in SQL with their design-based variance
  (:mod:`.indices`), kept up to date as sufficient statistics (:mod:`.figure_store`),
  changes, trends and rankings (:mod:`.comparisons`), small-area estimates
  (:mod:`.small_area`).
- Where they are shown: the leaders' dashboard (:mod:`.dashboard`, a package: one
  file per page, its charts and the collection overview; :mod:`.tables` for its
  downloads), the scorecard (:mod:`.scorecard`: the card, its counts, chart and PDF),
  the JSON API's reads (:mod:`.queries`), the microdata export (:mod:`.export`).
- Watching them: alerts (:mod:`.alerts`), e-mail digests
  (:mod:`.digest`) and the review of bursts of identical answers (:mod:`.bursts`).

Direction: reporting builds on weighting, collection and the core rules; only forms,
views, the demo and ``flask`` commands import it. It never imports admin
(``.importlinter``).
"""
