"""response_keys keeps each response's content hash (PostgreSQL)

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-04 10:00:00

PostgreSQL: ``response_keys.content_hash``, a copy of ``responses.content_hash`` kept
by the same triggers as the other key columns (``response_keys_claim`` on insert,
``response_keys_follow`` on update). A resent submission is then told apart from a
conflicting one from ``response_keys`` alone (client id, wave, dossier and content),
so the submission statement reads no partition of ``responses`` for it.

Why: a prepared statement's generic plan locks every partition of every partitioned
table it reads when it starts, before it prunes them. With 122 waves, each submission
took about 1,000 relation locks (978 of them partitions of ``responses`` and their
indexes), one by one in the shared lock table. The submission statement now reads
``response_keys`` for resends and only its own wave's partition for the burst check
(:func:`survey_app.collection.submissions.sql.insert_statement`).

SQLite: nothing (it has no ``response_keys``: its tables are not partitioned).
"""

from alembic import op

# revision identifiers, used by Alembic.
revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None

# Nothing is dropped but a copy of responses.content_hash (derived data).
DOWNGRADE_DROPS = {
    "tables": (),
    "columns": (),
}

def _claim(columns: tuple[str, ...]) -> str:
    """``response_keys_claim`` copying ``columns`` of the new response into its key row."""
    values = ", ".join("NEW.id" if c == "response_id" else f"NEW.{c}" for c in columns)
    return f"""CREATE OR REPLACE FUNCTION response_keys_claim() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO response_keys ({", ".join(columns)})
  VALUES ({values})
  ON CONFLICT DO NOTHING;
  IF FOUND THEN
    RETURN NEW;
  END IF;
  RETURN NULL;  -- the client id or the dossier is taken: the row is skipped
END $$"""


def _follow(columns: tuple[str, ...]) -> str:
    """``response_keys_follow`` keeping ``columns`` of the key row as the response's."""
    assignments = ", ".join(f"{c} = NEW.{c}" for c in columns)
    return f"""CREATE OR REPLACE FUNCTION response_keys_follow() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  IF NEW.wave_id IS DISTINCT FROM OLD.wave_id THEN
    RAISE EXCEPTION 'a response''s wave cannot change (responses are partitioned by wave)'
      USING ERRCODE = 'check_violation';
  END IF;
  UPDATE response_keys SET {assignments}
  WHERE response_id = OLD.id;
  RETURN NEW;
END $$"""


# Migration 0007's functions, and this one's with the content hash.
KEYS = ("response_id", "client_id", "dossier_hash", "wave_id")
FOLLOWED = ("client_id", "dossier_hash")


def _follow_trigger(columns: str) -> list[str]:
    return [
        "DROP TRIGGER response_keys_follow ON responses",
        f"CREATE TRIGGER response_keys_follow BEFORE UPDATE OF {columns} "
        "ON responses FOR EACH ROW EXECUTE FUNCTION response_keys_follow()",
    ]


def upgrade():
    if op.get_bind().dialect.name != "postgresql":
        return
    for statement in (
        "ALTER TABLE response_keys ADD COLUMN content_hash varchar(64)",
        "UPDATE response_keys AS k SET content_hash = r.content_hash FROM responses AS r "
        "WHERE r.id = k.response_id AND r.wave_id IS NOT DISTINCT FROM k.wave_id",
        "ALTER TABLE response_keys ALTER COLUMN content_hash SET NOT NULL",
        _claim((*KEYS, "content_hash")),
        _follow((*FOLLOWED, "content_hash")),
        *_follow_trigger("wave_id, client_id, dossier_hash, content_hash"),
    ):
        op.execute(statement)


def downgrade():
    if op.get_bind().dialect.name != "postgresql":
        return
    for statement in (
        *_follow_trigger("wave_id, client_id, dossier_hash"),
        _follow(FOLLOWED),
        _claim(KEYS),
        "ALTER TABLE response_keys DROP COLUMN content_hash",
    ):
        op.execute(statement)
