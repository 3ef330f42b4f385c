"""The leaders' dashboard: what each page shows, within the user's scope.

Every page function takes the user and the codes a request named, resolves them,
refuses anything outside the user's scope (:class:`.scope.ScopeError`, which the
blueprint turns into 403 or 404 before any figure is computed) and returns frozen
dataclasses that the templates, the charts and the downloads
(:mod:`survey_app.reporting.tables`) read. The numbers come from
:mod:`survey_app.reporting.indices` and :mod:`survey_app.reporting.comparisons`;
nothing here estimates anything itself, and every query aggregates in SQL.

- :mod:`.scope`: the units and waves a user may look at (scope tops, breadcrumbs,
  children, the waves with responses in a unit) and :class:`.scope.ScopeError`.
- :mod:`.figures`: what every page shows of a figure: index lines, the formats the
  templates use (``views``), the cells and headers of the downloadable tables.
- One file per page: :mod:`.overview` (headlines, trend, latest changes), :mod:`.unit`
  (the drill-down of one unit), :mod:`.ranking`, :mod:`.compare` (two waves or two
  units), :mod:`.kiosk` (the kiosk monitor), :mod:`.collection` (responses collected
  per unit and wave).
- Charts, Plotly figures built on the server as JSON: :mod:`.charts` (what they
  share), :mod:`.charts_trend`, :mod:`.charts_ranking`, :mod:`.charts_kiosk`.

Direction inside: ``scope`` and ``figures`` import no other file here; the pages
import them; each ``charts_*`` imports ``charts`` and its page. Outside the package
the dashboard uses the reporting figures and comparisons, collection and the core
rules; views (``blueprints/dashboard.py``), the alerts and the digest import it.
"""
