"""partition responses and answer_values by wave (PostgreSQL); answers carry their wave

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-02 22:00:00

PostgreSQL: ``responses`` and ``answer_values`` become LIST-partitioned by ``wave_id``,
one partition per wave (created by a trigger on ``waves``) and a default partition for
rows without a wave, so that a finished wave can be detached and archived
(docs/operations.md, "Partitions"). Unique constraints of a partitioned table must
contain the partition key, so the globally unique client id and dossier live in a
small unpartitioned table ``response_keys`` kept by triggers on ``responses``; see
the comments below for the SQL and the reasons.

SQLite: only the new column ``answer_values.wave_id`` (filled from the responses).
"""
from alembic import op
import sqlalchemy as sa

# revision identifiers, used by Alembic.
revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None

# response_keys holds copies of responses' columns (rebuilt by downgrade from the
# partitioned table, whose rows come back into plain tables); answer_values.wave_id is
# a copy of responses.wave_id. Nothing is lost by a downgrade.
DOWNGRADE_DROPS = {
    "tables": (),
    "columns": (),
}


#: Storage settings of every wave partition: vacuum and analyze a partition after a few
#: per cent of its rows changed, not the default 20% (folding marks every response once;
#: answer rows are only inserted, and an insert-driven vacuum keeps their visibility map
#: fresh for index-only scans).
PARTITION_SETTINGS = (
    'autovacuum_vacuum_scale_factor = 0.05, autovacuum_analyze_scale_factor = 0.02, '
    'autovacuum_vacuum_insert_scale_factor = 0.05'
)

RESPONSE_FOREIGN_KEYS = (
    "ADD CONSTRAINT fk_responses_desk_id_desks FOREIGN KEY (desk_id) REFERENCES desks (id), "
    "ADD CONSTRAINT fk_responses_procedure_id_procedures FOREIGN KEY (procedure_id) "
    "REFERENCES procedures (id), "
    "ADD CONSTRAINT fk_responses_questionnaire_id_questionnaires FOREIGN KEY "
    "(questionnaire_id) REFERENCES questionnaires (id), "
    "ADD CONSTRAINT fk_responses_unit_id_units FOREIGN KEY (unit_id) REFERENCES units (id), "
    "ADD CONSTRAINT fk_responses_wave_id_waves FOREIGN KEY (wave_id) REFERENCES waves (id)"
)

RESPONSE_INDEXES = (
    "CREATE INDEX ix_responses_desk_received ON responses (desk_id, received_at)",
    "CREATE INDEX ix_responses_questionnaire_id ON responses (questionnaire_id)",
    "CREATE INDEX ix_responses_unit_id ON responses (unit_id)",
    "CREATE INDEX ix_responses_wave_unit ON responses (wave_id, unit_id)",
    "CREATE INDEX ix_responses_unfolded ON responses (wave_id) WHERE NOT folded",
)


def _rename_indexes(*tables):
    """Give the indexes of ``tables`` an ``_old`` suffix (their names are free again)."""
    names = ", ".join(f"'{t}'::regclass" for t in tables)
    return f"""
    DO $$ DECLARE r record; BEGIN
      FOR r IN SELECT c.relname FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
               WHERE i.indrelid IN ({names}) LOOP
        EXECUTE format('ALTER INDEX %I RENAME TO %I', r.relname, r.relname || '_old');
      END LOOP;
    END $$"""


UPGRADE = (
    # The unpartitioned tables step aside (their rows are copied, then they are dropped).
    "ALTER TABLE answer_values DROP CONSTRAINT fk_answer_values_response_id_responses",
    "ALTER TABLE response_weights DROP CONSTRAINT fk_response_weights_response_id_responses",
    "ALTER TABLE responses RENAME TO responses_old",
    "ALTER TABLE answer_values RENAME TO answer_values_old",
    _rename_indexes("responses_old", "answer_values_old"),
    # responses, partitioned by wave. A unique constraint of a partitioned table must
    # hold the partition key: (id, wave_id) is what answer_values refers to. wave_id may
    # be NULL (the default partition), so NULLS NOT DISTINCT (PostgreSQL 15).
    "CREATE TABLE responses (LIKE responses_old INCLUDING DEFAULTS INCLUDING CONSTRAINTS) "
    "PARTITION BY LIST (wave_id)",
    "ALTER SEQUENCE responses_id_seq OWNED BY responses.id",
    "ALTER TABLE responses ADD CONSTRAINT uq_responses_id_wave UNIQUE NULLS NOT DISTINCT "
    "(id, wave_id)",
    *RESPONSE_INDEXES,
    # The client id (and the dossier) stay unique over all waves, which no index of a
    # partitioned table can say: response_keys holds them, one row per response, claimed
    # by a BEFORE INSERT trigger. A taken key makes the trigger skip the row, exactly as
    # the ON CONFLICT DO NOTHING of the submission path would (a concurrent claim of the
    # same key waits for the first transaction, as a unique index does).
    """CREATE TABLE response_keys (
        response_id bigint CONSTRAINT pk_response_keys PRIMARY KEY,
        client_id uuid NOT NULL CONSTRAINT uq_response_keys_client_id UNIQUE,
        dossier_hash varchar(64) CONSTRAINT uq_response_keys_dossier_hash UNIQUE,
        wave_id integer
    )""",
    """CREATE FUNCTION response_keys_claim() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      INSERT INTO response_keys (response_id, client_id, dossier_hash, wave_id)
      VALUES (NEW.id, NEW.client_id, NEW.dossier_hash, NEW.wave_id)
      ON CONFLICT DO NOTHING;
      IF FOUND THEN
        RETURN NEW;
      END IF;
      RETURN NULL;  -- the client id or the dossier is taken: the row is skipped
    END $$""",
    """CREATE FUNCTION response_keys_release() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      DELETE FROM response_keys WHERE response_id = OLD.id;
      RETURN NULL;
    END $$""",
    """CREATE FUNCTION response_keys_follow() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      IF NEW.wave_id IS DISTINCT FROM OLD.wave_id THEN
        RAISE EXCEPTION 'a response''s wave cannot change (responses are partitioned by wave)'
          USING ERRCODE = 'check_violation';
      END IF;
      UPDATE response_keys SET client_id = NEW.client_id, dossier_hash = NEW.dossier_hash
      WHERE response_id = OLD.id;
      RETURN NEW;
    END $$""",
    "CREATE TRIGGER response_keys_claim BEFORE INSERT ON responses "
    "FOR EACH ROW EXECUTE FUNCTION response_keys_claim()",
    "CREATE TRIGGER response_keys_release AFTER DELETE ON responses "
    "FOR EACH ROW EXECUTE FUNCTION response_keys_release()",
    "CREATE TRIGGER response_keys_follow BEFORE UPDATE OF wave_id, client_id, dossier_hash "
    "ON responses FOR EACH ROW EXECUTE FUNCTION response_keys_follow()",
    # answer_values, partitioned the same way; each row carries its response's wave.
    "CREATE TABLE answer_values (LIKE answer_values_old INCLUDING DEFAULTS) "
    "PARTITION BY LIST (wave_id)",
    "ALTER TABLE answer_values ADD CONSTRAINT uq_answer_values_response_item_value "
    "UNIQUE NULLS NOT DISTINCT (response_id, item_id, value, wave_id)",
    "CREATE INDEX ix_answer_values_item_value ON answer_values (item_id, value)",
    # One partition per wave, made when the wave is made; the default one holds rows
    # without a wave (and would hold a wave whose partition was detached).
    f"""CREATE FUNCTION wave_partitions_create(wave integer) RETURNS void LANGUAGE plpgsql AS $$
    BEGIN
      EXECUTE format('CREATE TABLE IF NOT EXISTS %I PARTITION OF responses FOR VALUES IN (%s) '
                     'WITH ({PARTITION_SETTINGS})', 'responses_w' || wave, wave);
      EXECUTE format('CREATE TABLE IF NOT EXISTS %I PARTITION OF answer_values FOR VALUES IN (%s) '
                     'WITH ({PARTITION_SETTINGS})', 'answer_values_w' || wave, wave);
    END $$""",
    """CREATE FUNCTION waves_partitions() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      PERFORM wave_partitions_create(NEW.id);
      RETURN NULL;
    END $$""",
    "CREATE TRIGGER waves_partitions AFTER INSERT ON waves "
    "FOR EACH ROW EXECUTE FUNCTION waves_partitions()",
    f"CREATE TABLE responses_default PARTITION OF responses DEFAULT WITH ({PARTITION_SETTINGS})",
    "CREATE TABLE answer_values_default PARTITION OF answer_values DEFAULT "
    f"WITH ({PARTITION_SETTINGS})",
    "SELECT wave_partitions_create(id) FROM waves",
    # The rows move in; the keys are copied (no trigger fires for them twice: the
    # trigger is created above but the keys table is filled first).
    "INSERT INTO response_keys SELECT id, client_id, dossier_hash, wave_id FROM responses_old",
    "ALTER TABLE responses DISABLE TRIGGER response_keys_claim",
    "INSERT INTO responses SELECT * FROM responses_old",
    "ALTER TABLE responses ENABLE TRIGGER response_keys_claim",
    "INSERT INTO answer_values (response_id, item_id, value, wave_id) "
    "SELECT a.response_id, a.item_id, a.value, r.wave_id "
    "FROM answer_values_old AS a JOIN responses_old AS r ON r.id = a.response_id",
    # Foreign keys, after the rows (checked once, in bulk).
    f"ALTER TABLE responses {RESPONSE_FOREIGN_KEYS}",
    "ALTER TABLE answer_values "
    "ADD CONSTRAINT fk_answer_values_item_id_questionnaire_items FOREIGN KEY (item_id) "
    "REFERENCES questionnaire_items (id), "
    "ADD CONSTRAINT fk_answer_values_response_wave FOREIGN KEY (response_id, wave_id) "
    "REFERENCES responses (id, wave_id) ON DELETE CASCADE, "
    "ADD CONSTRAINT fk_answer_values_response_id_response_keys FOREIGN KEY (response_id) "
    "REFERENCES response_keys (response_id) ON DELETE CASCADE",
    "ALTER TABLE response_weights ADD CONSTRAINT fk_response_weights_response_id_response_keys "
    "FOREIGN KEY (response_id) REFERENCES response_keys (response_id) ON DELETE CASCADE",
    "DROP TABLE answer_values_old",
    "DROP TABLE responses_old",
    "ANALYZE responses",
    "ANALYZE answer_values",
    "ANALYZE response_keys",
)

DOWNGRADE = (
    "DROP TRIGGER waves_partitions ON waves",
    "DROP FUNCTION waves_partitions()",
    "DROP FUNCTION wave_partitions_create(integer)",
    "ALTER TABLE response_weights DROP CONSTRAINT fk_response_weights_response_id_response_keys",
    "ALTER TABLE responses RENAME TO responses_old",
    "ALTER TABLE answer_values RENAME TO answer_values_old",
    _rename_indexes("responses_old", "answer_values_old"),
    "CREATE TABLE responses (LIKE responses_old INCLUDING DEFAULTS INCLUDING CONSTRAINTS)",
    "ALTER SEQUENCE responses_id_seq OWNED BY responses.id",
    "INSERT INTO responses SELECT * FROM responses_old",
    "ALTER TABLE responses ADD CONSTRAINT pk_responses PRIMARY KEY (id), "
    "ADD CONSTRAINT uq_responses_client_id UNIQUE (client_id), "
    "ADD CONSTRAINT uq_responses_dossier_hash UNIQUE (dossier_hash), "
    + RESPONSE_FOREIGN_KEYS,
    *RESPONSE_INDEXES,
    "CREATE TABLE answer_values (LIKE answer_values_old INCLUDING DEFAULTS)",
    "INSERT INTO answer_values SELECT * FROM answer_values_old",
    "ALTER TABLE answer_values ADD CONSTRAINT pk_answer_values PRIMARY KEY "
    "(response_id, item_id, value), "
    "ADD CONSTRAINT fk_answer_values_item_id_questionnaire_items FOREIGN KEY (item_id) "
    "REFERENCES questionnaire_items (id), "
    "ADD CONSTRAINT fk_answer_values_response_id_responses FOREIGN KEY (response_id) "
    "REFERENCES responses (id) ON DELETE CASCADE",
    "CREATE INDEX ix_answer_values_item_value ON answer_values (item_id, value)",
    "ALTER TABLE response_weights ADD CONSTRAINT fk_response_weights_response_id_responses "
    "FOREIGN KEY (response_id) REFERENCES responses (id) ON DELETE CASCADE",
    "DROP TABLE answer_values_old",
    "DROP TABLE responses_old",
    "DROP TABLE response_keys",
    "DROP FUNCTION response_keys_claim()",
    "DROP FUNCTION response_keys_release()",
    "DROP FUNCTION response_keys_follow()",
)


def upgrade():
    with op.batch_alter_table('answer_values', schema=None) as batch_op:
        batch_op.add_column(sa.Column('wave_id', sa.Integer(), nullable=True))
    if op.get_bind().dialect.name != 'postgresql':
        op.execute(
            'UPDATE answer_values SET wave_id = '
            '(SELECT wave_id FROM responses WHERE responses.id = answer_values.response_id)'
        )
        return
    for statement in UPGRADE:
        op.execute(statement)


def downgrade():
    if op.get_bind().dialect.name == 'postgresql':
        for statement in DOWNGRADE:
            op.execute(statement)
    with op.batch_alter_table('answer_values', schema=None) as batch_op:
        batch_op.drop_column('wave_id')
