"""Weighting: the survey team's sample design and weights.

- The weighting console behind ``/analyst/weights`` (:mod:`.console`): a wave's sample,
  uploaded targets (:mod:`.target_files`), checks, preview, schemes saved and activated,
  and the published design that re-runs the active scheme for the figures.
- The active scheme as R/Stata commands for the export's codebook
  (:mod:`.scheme_commands`).
- The sample-size planner (:mod:`.planning`).

Direction: weighting builds on collection (waves, questionnaires, answers) and the core
rules; reporting builds on weighting (the published figures use the active scheme).
Weighting never imports reporting, admin, forms or views (``.importlinter``).
"""
