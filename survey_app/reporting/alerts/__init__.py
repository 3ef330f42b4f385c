"""Alerts for leaders: the rules, their episodes, who sees what.

``run()`` (what ``flask alerts run`` calls, e.g. every 15 minutes) evaluates every rule
on the stored responses and the figures service, then stores the result as episodes:

- a condition that holds and has no open episode opens one (``rule`` x ``subject`` x
  ``episode`` is unique in the database, and at most one episode per rule and subject
  is open, so a repeated or concurrent run can never store it twice);
- a condition that still holds keeps its episode open (``last_seen_at``);
- an open episode whose condition no longer holds is closed.

The statistics are in :mod:`analysis.alerts` (window change, Holm decisions, silence,
rate anomaly, power). Rules:

- ``index_drop``: continuous feedback, the last ``ALERT_WINDOW_DAYS`` whole days against
  the preceding as many (model-based variance: desks as strata, desk-days as clusters,
  unweighted because a rolling window crosses the period waves' weighting); field
  surveys, the overall index between the last two *closed* waves of a questionnaire
  (:func:`survey_app.reporting.comparisons.changes.reportable_changes`). All tests of one run (every
  unit and index evaluated) form one Holm family; a fall fires when the adjusted p is
  below ``ALERT_ALPHA`` and it is at least the smallest minimum change any follower
  set (each leader then sees it only if it reaches their own minimum). A window with
  an effective n below ``MIN_EFFECTIVE_N`` is not tested (and not in the family).
- ``funnel``: a unit outside the 99.8% funnel limits of its parent's latest wave
  (:func:`survey_app.reporting.comparisons.rankings.ranking`, figures a leader may see).
- ``silent_desk``: see :mod:`analysis.alerts` (up to 8 weeks of the desk's own history
  before the silence, by weekday and hour; at least 2 weeks needed; chance of the
  silence < 0.001).
- ``burst``: a desk has responses flagged as a burst and not reviewed yet.
- ``rate_anomaly``: yesterday's count of a desk against the same weekday of the 8
  weeks before (two-sided p < 0.001, at least 3 weeks of history).

Only units and desks that some reader follows are evaluated.

Files
-----
- :mod:`.episodes`: a run (:func:`~.episodes.run`, what ``flask alerts run`` calls):
  every rule evaluated, the findings stored as episodes.
- One file per kind of rule, each returning :class:`~.common.Finding` objects:
  :mod:`.index_drop`, :mod:`.funnel`, :mod:`.desks` (``silent_desk``,
  ``rate_anomaly``, ``burst``).
- :mod:`.following`: who follows which rule and unit (:class:`~.following.Following`).
- :mod:`.settings`: a reader's settings, read with defaults and saved.
- :mod:`.inbox`: what a reader receives: the alerts they follow, acknowledgements,
  e-mail claims.
- :mod:`.wording`: what an alert says (title, sentence, figures) in the current
  language, for the page, the e-mail and the digest.
- :mod:`.common`: what the rules share: a finding, a run's report, the local day.

Direction inside: ``episodes`` imports the rule files; the rule files import
``following`` and ``common``; ``following`` imports ``settings``; ``inbox`` imports
``following``; ``wording``, ``settings`` and ``common`` import none of the others.
"""
