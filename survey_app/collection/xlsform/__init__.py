"""XLSForm (ODK, KoboToolbox) import and export of questionnaire definitions.

Pure: no Flask application, no database (Flask-Babel's gettext makes the messages:
the reader's language inside an application, English outside one).  pyxform parses
an XLSForm into its JSON survey structure, which is mapped onto the dictionary form of
:class:`~survey_app.collection.questionnaire.Questionnaire` and validated by
:meth:`Questionnaire.from_dict`; openpyxl writes our definitions out as an
XLSForm that pyxform converts and that imports back to the same definition.
The rules are documented in ``questionnaires/README.md`` (section "XLSForm").
pyxform is slow to import: ``flask`` commands import these files only when they run.

Files, from the bottom up (each imports only files above it in this list, and the
questionnaire format, :mod:`survey_app.collection.questionnaire`):

- :mod:`.sheets`: language columns, our ``x_`` columns, the ``indices`` sheet, cell
  text and numbers.
- :mod:`.problems`: ``Location``, ``XLSFormProblem``, ``XLSFormError``.
- :mod:`.expressions`: ``relevant`` ↔ ``show_if``, ``constraint`` → bounds.
- :mod:`.reading_base`: the reader's base (problems with their place, bilingual texts).
- :mod:`.reading_items`: questions and choices; :mod:`.reading_indices`: the
  ``indices`` sheet.
- :mod:`.reading`: ``read_xlsform(path, slug=None, version=None) -> ImportResult``
  (groups become sections).
- :mod:`.writing`: ``questionnaire_to_workbook(q)``, ``write_xlsform(q, path)`` and
  ``dump_yaml(q, header="")`` (the questionnaire file's text).
"""
