"""a response stored flagged enters the figure store's queue marked

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-06 18:30:00

The triggers that add a stored response to ``figure_queue`` (PostgreSQL:
``response_keys_claim``; SQLite: ``figure_queue_add`` and ``figure_queue_follow``) copy
its ``flagged`` into the queue row's mark, which 0015 left to the first fold that met
the response.

Why: a response the burst rule flags as it is stored is never folded. With the mark
set by the fold, its queue row first entered the partial index of the rows to fold
(``ix_figure_queue_pending``), and the fold then updated it out again: an index entry
and an update that is never HOT (the mark is the index's predicate), per flagged
response. In the 50-desk load benchmark, 63 % of the responses are flagged. Now the
row is born marked: no entry in the partial index, nothing for a fold to mark. A
response flagged later, or a queue refilled by a rebuild, is still marked by the first
fold that meets it, as in 0015.

The upgrade changes no row. Downgrade: the triggers of 0015.
"""

from alembic import op

# revision identifiers, used by Alembic.
revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None

# Triggers only.
DOWNGRADE_DROPS = {
    "tables": (),
    "columns": (),
}

KEYS = "response_id, client_id, dossier_hash, wave_id, content_hash"
KEY_VALUES = "NEW.id, NEW.client_id, NEW.dossier_hash, NEW.wave_id, NEW.content_hash"


def _claim(marked: bool) -> str:
    """``response_keys_claim`` (as in 0014), adding the kept response to the queue,
    (``marked``) with its flag as the queue row's mark."""
    columns, values = ("wave_id, response_id", "NEW.wave_id, NEW.id")
    if marked:
        columns, values = f"{columns}, flagged", f"{values}, NEW.flagged"
    return f"""CREATE OR REPLACE FUNCTION response_keys_claim() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO response_keys ({KEYS})
  VALUES ({KEY_VALUES})
  ON CONFLICT DO NOTHING;
  IF FOUND THEN
    IF NEW.wave_id IS NOT NULL THEN
      INSERT INTO figure_queue ({columns}) VALUES ({values});
    END IF;
    RETURN NEW;
  END IF;
  RETURN NULL;  -- the client id or the dossier is taken: the row is skipped
END $$"""


def _sqlite_triggers(marked: bool) -> tuple[str, str]:
    """``figure_queue_add`` and ``figure_queue_follow`` (as in 0014), (``marked``) with
    the response's flag as the queue row's mark."""
    columns, values = ("wave_id, response_id", "NEW.wave_id, NEW.id")
    if marked:
        columns, values = f"{columns}, flagged", f"{values}, NEW.flagged"
    return (
        f"""CREATE TRIGGER figure_queue_add AFTER INSERT ON responses
WHEN NEW.wave_id IS NOT NULL
BEGIN
  INSERT INTO figure_queue ({columns}) VALUES ({values});
END""",
        f"""CREATE TRIGGER figure_queue_follow AFTER UPDATE OF wave_id ON responses
WHEN OLD.wave_id IS NOT NEW.wave_id
BEGIN
  DELETE FROM figure_queue WHERE wave_id = OLD.wave_id AND response_id = OLD.id;
  INSERT OR IGNORE INTO figure_queue ({columns})
  SELECT {values} WHERE NEW.wave_id IS NOT NULL;
END""",
    )


def _triggers(marked: bool) -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(_claim(marked))
        return
    for name in ("figure_queue_add", "figure_queue_follow"):
        op.execute(f"DROP TRIGGER {name}")
    for trigger in _sqlite_triggers(marked):
        op.execute(trigger)


def upgrade():
    _triggers(marked=True)


def downgrade():
    _triggers(marked=False)
