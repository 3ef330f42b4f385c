"""Paper questionnaires: an entry template per questionnaire, and its import.

The template
------------
Row 1 holds the column codes (the importer reads them), row 2 the questions in words
(ignored on import), and data start on row 3. The columns are the form number
(``client_id``, optional), ``unit_code``, ``wave_code``, the design columns
``stratum``, ``psu`` and ``design_weight``, the interview date ``submitted_date``
(dd/mm/yyyy or yyyy-mm-dd), then one column per item code. Scale items take their
level (1-5), single-choice items an option code, multiple-choice items option codes
separated by ``;``. The XLSX template lists the allowed codes of every column
(data validation) and explains them on a second sheet.

The import
----------
Every row is checked against the questionnaire (blank answers are allowed: paper
forms are entered as they are), the unit and wave codes (inside the user's scope, the
unit inside the wave's area) and the design columns. Any problem rejects the whole
file, and every problem is reported by row and column; otherwise every new row is
stored in one transaction. A response's id is the form number when one is given
(so a corrected file does not duplicate forms), else derived from the file's
SHA-256 and the row number: importing the same file again stores nothing twice.

Files
-----
- ``template.py``: the columns and the CSV/XLSX entry template.
- ``cells.py``: reading a file within :data:`.cells.LIMITS`, one cell as a value.
- ``rows.py``: one row checked into a response draft.
- ``importing.py``: :func:`.importing.import_file`, the whole file and its report.

Direction inside: ``importing`` imports ``rows``, ``cells`` and ``template``;
``rows`` imports ``cells`` and ``template``; ``cells`` imports ``template``.
"""
