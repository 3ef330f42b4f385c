"""Survey rounds: field-survey waves created by the survey team, and feedback periods.

Two kinds of wave (``models.collection``):

- A **field survey wave** is created by the survey team (page ``/analyst/waves/`` or
  ``flask waves create``) with its questionnaire, dates, the unit it covers and its
  design: the lonely-PSU rule, whether it is a panel of an earlier wave, and the
  sample frame (strata, PSUs and, where known, each stratum's number of PSUs in the
  population). The design is declared, never inferred from labels that repeat. A
  closed wave accepts no more answers.
- A **feedback period** groups continuous kiosk and phone answers. A unit's
  *feedback series* says whether periods are months or quarters; the period wave is
  created the first time an answer falls into it
  (:func:`.feedback_periods.ensure_feedback_period`), so no answer is ever stored
  without a period. Without a series anywhere above the desk, a monthly series of the
  top unit of the desk's hierarchy is created.

Every change is recorded in the audit log.

Files, in import order (each imports only those above it):

- ``errors.py``: :class:`errors.WaveError`, raised with every reason at once;
- ``sample_frame.py``: the sample-frame CSV (:func:`sample_frame.read_frame`, the
  ``Frame`` it returns, the code and label patterns, the 2 MB limit);
- ``lookups.py``: a wave by its code (:func:`lookups.get_wave`), a unit by its code
  in the user's scope (:func:`lookups.find_unit`), the waves a user may see and their
  response, stratum and PSU counts (:func:`lookups.list_waves`, :func:`lookups.summary`);
- ``design.py``: the declared design as the estimators read it: the lonely-PSU rule
  in words, each stratum's PSUs in the population (the fpc), whether two waves are a
  panel (imports nothing of the package);
- ``field_waves.py``: create a field wave with its design, replace its frame, close
  it (audited);
- ``feedback_periods.py``: a unit's feedback series (month or quarter, audited), the
  period bounds, and the period wave opened by its first answer.
"""
