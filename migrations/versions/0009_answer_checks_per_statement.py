"""answers checked against their response once per statement, not per row (PostgreSQL)

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-03 19:00:00

PostgreSQL: the two foreign keys of each answer row, to (response, wave) in the
partitioned ``responses`` and to ``response_keys``, cost most of a kiosk submission:
PostgreSQL checks a foreign key with one query per row that also locks the referenced
row, and under load those checks took 0.65 ms and 0.36 ms per answer row, against
0.01 ms for the key to ``questionnaire_items`` (benchmarks/README.md, "Submissions").
They are replaced by the same rules kept by triggers:

- ``answer_values_have_responses``, after each INSERT or UPDATE statement on
  ``answer_values``: every row the statement wrote must have its response in
  ``response_keys`` with the same wave (one query over the statement's rows; a
  response's key row exists exactly while the response does, migration 0007). A row
  without one fails the statement with SQLSTATE 23503, as the foreign key did.
- ``response_keys_release`` (after a response is deleted) now also deletes the
  response's answer rows, in its wave's partition only, as ``ON DELETE CASCADE`` did.

What the foreign keys also gave and the triggers do not: the lock that kept a response
from being deleted while another transaction added answer rows to it. Answer rows are
only ever written in the transaction that stores their response
(``collection/responses.py``, the single statement of ``collection/submissions``).

SQLite: nothing (its tables are not partitioned; the foreign key stays).
"""

from alembic import op

# revision identifiers, used by Alembic.
revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

# Nothing is dropped but constraints, which downgrade() adds again.
DOWNGRADE_DROPS = {
    "tables": (),
    "columns": (),
}

CHECK = """CREATE FUNCTION answer_values_have_responses() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF EXISTS (
    SELECT FROM written AS a
    WHERE NOT EXISTS (
      SELECT FROM response_keys AS k
      WHERE k.response_id = a.response_id AND k.wave_id IS NOT DISTINCT FROM a.wave_id
    )
  ) THEN
    RAISE EXCEPTION 'an answer row refers to no response of its wave'
      USING ERRCODE = 'foreign_key_violation', CONSTRAINT = 'answer_values_have_responses';
  END IF;
  RETURN NULL;
END $$"""

RELEASE = """CREATE OR REPLACE FUNCTION response_keys_release() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  DELETE FROM response_keys WHERE response_id = OLD.id;
  {answers}
  RETURN NULL;
END $$"""

DELETE_ANSWERS = """IF OLD.wave_id IS NULL THEN
    DELETE FROM answer_values WHERE response_id = OLD.id AND wave_id IS NULL;
  ELSE
    DELETE FROM answer_values WHERE response_id = OLD.id AND wave_id = OLD.wave_id;
  END IF;"""

UPGRADE = (
    "ALTER TABLE answer_values DROP CONSTRAINT fk_answer_values_response_wave, "
    "DROP CONSTRAINT fk_answer_values_response_id_response_keys",
    CHECK,
    "CREATE TRIGGER answer_values_have_responses_insert AFTER INSERT ON answer_values "
    "REFERENCING NEW TABLE AS written FOR EACH STATEMENT "
    "EXECUTE FUNCTION answer_values_have_responses()",
    "CREATE TRIGGER answer_values_have_responses_update AFTER UPDATE ON answer_values "
    "REFERENCING NEW TABLE AS written FOR EACH STATEMENT "
    "EXECUTE FUNCTION answer_values_have_responses()",
    RELEASE.format(answers=DELETE_ANSWERS),
)

DOWNGRADE = (
    RELEASE.format(answers=""),
    "DROP TRIGGER answer_values_have_responses_insert ON answer_values",
    "DROP TRIGGER answer_values_have_responses_update ON answer_values",
    "DROP FUNCTION answer_values_have_responses()",
    "ALTER TABLE answer_values ADD CONSTRAINT fk_answer_values_response_wave "
    "FOREIGN KEY (response_id, wave_id) REFERENCES responses (id, wave_id) ON DELETE CASCADE, "
    "ADD CONSTRAINT fk_answer_values_response_id_response_keys FOREIGN KEY (response_id) "
    "REFERENCES response_keys (response_id) ON DELETE CASCADE",
)


def upgrade():
    if op.get_bind().dialect.name == "postgresql":
        for statement in UPGRADE:
            op.execute(statement)


def downgrade():
    if op.get_bind().dialect.name == "postgresql":
        for statement in DOWNGRADE:
            op.execute(statement)
