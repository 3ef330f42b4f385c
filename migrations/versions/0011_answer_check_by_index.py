"""the per-statement answer check probes response_keys by its index, row by row (PostgreSQL)

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-03 23:50:00

PostgreSQL: ``answer_values_have_responses`` (migration 0009) looked for the rows of a
statement whose response is missing with ``NOT EXISTS``, which the planner may turn
into a hash anti join: ``response_keys`` read whole into a hash table. PL/pgSQL keeps
the plan it made at a session's first call, and the first call often met a small
table (a new database, a new installation). Under the load benchmark this check took
40% of PostgreSQL's CPU, and its cost grew with every response ever stored.

The check is now a scalar subquery per written row, which PostgreSQL runs as a
subplan (a subquery that returns one value is never turned into a join), and the
function plans with ``enable_seqscan`` off, so that the subplan probes
``pk_response_keys`` even when it is planned on a table of a few rows (a plan then
kept while the table grows): a few index lookups per statement, whatever the table's
size or the planner's estimates. The rule is unchanged: every row must have
its response in ``response_keys`` with the same wave, or the statement fails with
SQLSTATE 23503.

SQLite: nothing (its tables are not partitioned; the foreign key stays).
"""

from alembic import op

# revision identifiers, used by Alembic.
revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

# Nothing is dropped: a function's body is replaced.
DOWNGRADE_DROPS = {
    "tables": (),
    "columns": (),
}

CHECK = """CREATE OR REPLACE FUNCTION answer_values_have_responses() RETURNS trigger
LANGUAGE plpgsql SET enable_seqscan = off AS $$
BEGIN
  IF EXISTS (
    SELECT FROM written AS a
    WHERE NOT coalesce((
      SELECT k.wave_id IS NOT DISTINCT FROM a.wave_id
      FROM response_keys AS k
      WHERE k.response_id = a.response_id
    ), false)
  ) THEN
    RAISE EXCEPTION 'an answer row refers to no response of its wave'
      USING ERRCODE = 'foreign_key_violation', CONSTRAINT = 'answer_values_have_responses';
  END IF;
  RETURN NULL;
END $$"""

# Migration 0009's body, as it was.
PREVIOUS = """CREATE OR REPLACE FUNCTION answer_values_have_responses() RETURNS trigger
LANGUAGE plpgsql AS $$
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


def upgrade():
    if op.get_bind().dialect.name == "postgresql":
        op.execute(CHECK)


def downgrade():
    if op.get_bind().dialect.name == "postgresql":
        op.execute(PREVIOUS)
        op.execute("ALTER FUNCTION answer_values_have_responses() RESET enable_seqscan")
