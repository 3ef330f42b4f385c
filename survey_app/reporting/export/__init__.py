"""Export of a wave's microdata for SPSS, Stata and R: CSV, XLSX and SPSS ``.sav``.

One row per response of the wave within the user's scope, with the design columns
(stratum, PSU, design weight, the active scheme's weight), the unit, desk, channel and
dates, and every item as a column:

- scale and single-choice items: their numeric code (level, or option position), with
  value labels from the questionnaire in the user's language;
- multiple-choice items: one 0/1 column per option, ``<item>_<option>``; missing when
  the item was not answered;
- number items: the number; text items: the text.

A ``fpc`` column follows the PSU when the wave's sample frame states the number of
PSUs of a stratum (``wave_frame.stratum_psus``): that number for each response's
stratum, empty where it is unknown.

A codebook (variable, label, type, values) goes with every format; the XLSX file
carries it as a second sheet. Below the variables it states the design
(:func:`design_rows`): the wave's dates, whether it is a panel of an earlier wave, its
lonely-PSU rule, the weight of the published figures, the index rule read from the
questionnaire (items per aspect, satisfied levels, how the overall index combines the
aspects), and ready R (``survey``) and Stata commands that recompute the published
overall index from the exported file. Text cells of every format pass through
:mod:`survey_app.spreadsheets`: a stratum, PSU, comment or label that begins
with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return gets a leading quote, so no
spreadsheet program runs it as a formula. Exports are recorded in the audit log.

Files, in import order (each imports only those above it):

- ``rows.py``: the formats, the variables and :func:`rows.microdata`, the data frame;
- ``codebook.py``: the codebook rows, the design rows and the R/Stata commands;
- ``writers.py``: CSV, XLSX and ``.sav`` writers of the data and the codebook;
- ``entry.py``: :func:`entry.export` (web, audited) and :func:`entry.export_files`
  (command line).
"""
