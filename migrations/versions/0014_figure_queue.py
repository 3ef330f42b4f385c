"""the responses waiting for the figure store's fold are a table, not a flag

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-06 12:10:00

``figure_queue`` (wave, response) holds each response of a wave that the figure store
has not folded yet; ``responses.folded`` and its partial index ``ix_responses_unfolded``
go. A trigger adds the row when a response is stored and deletes it with the response;
the fold deletes the rows of the responses it adds to the sums.

Why: the fold marked each response it folded with ``UPDATE responses SET folded``. That
update is never HOT (``folded`` is the partial index's predicate), so each one left a
dead row version and an entry in each of the partition's seven indexes, for autovacuum
to clean in the partitions the submissions write to. A fold now deletes small rows
from a small table and never writes a response row: its PostgreSQL time fell from
0.046 to 0.029 ms per response folded (3,000 desks, in-process). The submissions'
throughput under load did not change measurably (benchmarks/README.md, stop 45).

PostgreSQL: ``response_keys_claim`` (before a response is inserted) adds the row when
it keeps the response, and ``response_keys_release`` (after a response is deleted)
deletes it: the submission statement and every other way of storing a response get
it, in the same transaction, with no trigger more. SQLite: three triggers on
``responses`` (insert, delete, and a change of wave, which SQLite allows).

Downgrade: ``folded`` comes back, true for each response of a wave not in the queue.
"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None

# Nothing is dropped that the downgrade does not rebuild: the queue becomes the flag.
DOWNGRADE_DROPS = {
    "tables": (),
    "columns": (),
}

KEYS = "response_id, client_id, dossier_hash, wave_id, content_hash"
KEY_VALUES = "NEW.id, NEW.client_id, NEW.dossier_hash, NEW.wave_id, NEW.content_hash"


def _claim(queue: bool) -> str:
    """``response_keys_claim`` as in 0012, and (``queue``) adding the kept response
    to ``figure_queue``."""
    add = (
        """IF NEW.wave_id IS NOT NULL THEN
      INSERT INTO figure_queue (wave_id, response_id) VALUES (NEW.wave_id, NEW.id);
    END IF;
    """
        if queue
        else ""
    )
    return f"""CREATE OR REPLACE FUNCTION response_keys_claim() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO response_keys ({KEYS})
  VALUES ({KEY_VALUES})
  ON CONFLICT DO NOTHING;
  IF FOUND THEN
    {add}RETURN NEW;
  END IF;
  RETURN NULL;  -- the client id or the dossier is taken: the row is skipped
END $$"""


def _release(queue: bool) -> str:
    """``response_keys_release`` as in 0009, and (``queue``) deleting the response's
    row of ``figure_queue``."""
    drop = (
        "DELETE FROM figure_queue WHERE wave_id = OLD.wave_id AND response_id = OLD.id;\n    "
        if queue
        else ""
    )
    return f"""CREATE OR REPLACE FUNCTION response_keys_release() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  DELETE FROM response_keys WHERE response_id = OLD.id;
  IF OLD.wave_id IS NULL THEN
    DELETE FROM answer_values WHERE response_id = OLD.id AND wave_id IS NULL;
  ELSE
    {drop}DELETE FROM answer_values WHERE response_id = OLD.id AND wave_id = OLD.wave_id;
  END IF;
  RETURN NULL;
END $$"""


SQLITE_TRIGGERS = (
    """CREATE TRIGGER figure_queue_add AFTER INSERT ON responses
WHEN NEW.wave_id IS NOT NULL
BEGIN
  INSERT INTO figure_queue (wave_id, response_id) VALUES (NEW.wave_id, NEW.id);
END""",
    """CREATE TRIGGER figure_queue_release AFTER DELETE ON responses
WHEN OLD.wave_id IS NOT NULL
BEGIN
  DELETE FROM figure_queue WHERE wave_id = OLD.wave_id AND response_id = OLD.id;
END""",
    # a folded response that changes wave was unfolded first (its old wave's sums
    # emptied: figure_store.unfold_responses); it waits for the fold in its new wave
    """CREATE TRIGGER figure_queue_follow AFTER UPDATE OF wave_id ON responses
WHEN OLD.wave_id IS NOT NEW.wave_id
BEGIN
  DELETE FROM figure_queue WHERE wave_id = OLD.wave_id AND response_id = OLD.id;
  INSERT OR IGNORE INTO figure_queue (wave_id, response_id)
  SELECT NEW.wave_id, NEW.id WHERE NEW.wave_id IS NOT NULL;
END""",
)


def upgrade():
    postgresql = op.get_bind().dialect.name == "postgresql"
    op.create_table(
        "figure_queue",
        sa.Column("wave_id", sa.Integer(), nullable=False),
        sa.Column("response_id", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("wave_id", "response_id", name="pk_figure_queue"),
    )
    op.execute(
        "INSERT INTO figure_queue (wave_id, response_id) "
        "SELECT wave_id, id FROM responses WHERE NOT folded AND wave_id IS NOT NULL"
    )
    op.execute("DROP INDEX ix_responses_unfolded")
    op.execute("ALTER TABLE responses DROP COLUMN folded")
    if postgresql:
        op.execute(_claim(queue=True))
        op.execute(_release(queue=True))
        op.execute("ANALYZE figure_queue")
    else:
        for trigger in SQLITE_TRIGGERS:
            op.execute(trigger)


def downgrade():
    postgresql = op.get_bind().dialect.name == "postgresql"
    if postgresql:
        op.execute(_claim(queue=False))
        op.execute(_release(queue=False))
    else:
        for name in ("figure_queue_add", "figure_queue_release", "figure_queue_follow"):
            op.execute(f"DROP TRIGGER {name}")
    op.execute("ALTER TABLE responses ADD COLUMN folded BOOLEAN DEFAULT false NOT NULL")
    op.execute(
        "UPDATE responses SET folded = true WHERE wave_id IS NOT NULL AND NOT EXISTS "
        "(SELECT 1 FROM figure_queue AS q "
        "WHERE q.wave_id = responses.wave_id AND q.response_id = responses.id)"
    )
    op.execute("CREATE INDEX ix_responses_unfolded ON responses (wave_id) WHERE NOT folded")
    op.drop_table("figure_queue")
