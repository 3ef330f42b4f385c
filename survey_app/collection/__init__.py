"""Collection: everything between a questionnaire file and a stored response.

- Questionnaires: the declarative file format and answer validation
  (:mod:`.questionnaire`), XLSForm import/export (:mod:`.xlsform`), loading files into
  the database (:mod:`.questionnaires`).
- Where and when answers are collected: waves (:mod:`.waves`, a package: field waves,
  their sample frames and declared design, feedback periods, one file each) and desks
  with their kiosk tokens (:mod:`.desks`).
- The citizens' forms: kiosk (:mod:`.kiosk`), phone (:mod:`.phone`), read-aloud audio
  (:mod:`.audio`).
- Storing answers exactly once: :mod:`.submissions` (a package: the one entry point of
  the kiosk, the phone form and the API, its field checks, rate limit, burst rule and
  SQL, one file each), the dossier key
  (:mod:`.dossier_key`), the stored rows (:mod:`.responses`) and paper questionnaires
  (:mod:`.paper_import`).

Direction: collection sits just above the models and the core rules (``access``,
``audit``, ``formatting``, ``numbers``, ``spreadsheets``). It never imports weighting,
reporting, admin, forms or views; they build on it (``.importlinter``, checked by
``tests/test_layers.py``). Like every domain package it is service code: the only code
that commits, called by thin views and ``flask`` commands.
"""
