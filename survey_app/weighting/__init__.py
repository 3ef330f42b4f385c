"""Weighting: the survey team's sample design and weights.

The weighting console behind ``/analyst/weights``, one concept per file, in the order
a scheme goes through them:

- :mod:`.sample`: a wave's responses as arrays, its weighting variables and levels
  (:func:`~.sample.load_sample`, one query);
- :mod:`.targets`: an uploaded CSV or XLSX file read into target rows (the one place
  target files are parsed); :mod:`.templates`: the files to fill in;
- :mod:`.spec`: what a scheme is computed from (method, options, targets), stored as
  its ``params``;
- :mod:`.checks`: the targets and options checked against the wave, every problem by
  row (:mod:`.errors` holds the two refusals);
- :mod:`.compute`: the method and the trimming run on the design weights, with their
  diagnostics;
- :mod:`.preview`: weights, margins, headline index and histogram, nothing stored;
- :mod:`.published`: the active scheme re-run for the published figures (published =
  previewed);
- :mod:`.schemes`: schemes saved, activated, deactivated, listed, their history, and
  the waves in the user's scope.

Beside the console: the active scheme as R/Stata commands for the export's codebook
(:mod:`.scheme_commands`) and the sample-size planner (:mod:`.planning`).

Direction: weighting builds on collection (waves, questionnaires, answers) and the core
rules; reporting builds on weighting (the published figures use the active scheme).
Weighting never imports reporting, admin, forms or views (``.importlinter``). Inside,
each file imports only those listed before it (errors < sample < targets < spec <
checks < compute < published < preview < schemes; templates on sample and targets).
"""
