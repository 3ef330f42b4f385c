"""A unit's scorecard for one wave: what its head is evaluated on, on one A4 page.

Everything comes from the indices and comparisons modules: the overall index and
each aspect with their intervals, the trend over the unit's waves of the same kind
and questionnaire, the rank among sibling units (same parent and kind) with its
interval, the change since the previous wave and whether it is significant, the
response volumes, and the most frequent reasons for dissatisfaction. Counts are
aggregated in SQL; no response row is loaded.

- :mod:`.card`: the scorecard (:func:`.card.build`), its figures, trend, change and
  rank, and the units and waves a user can open (:func:`.card.available`).
- :mod:`.counts`: response volumes and the reasons for dissatisfaction, counted in SQL.
- :mod:`.chart`: the trend as a static SVG (the page and the PDF show the same chart).
- :mod:`.pdf`: the page rendered to PDF with WeasyPrint, from the app's own files only.

Direction inside: ``counts`` imports no other file here; ``card`` imports ``counts``;
``chart`` reads a ``card.Scorecard``; ``pdf`` stands alone.
"""
