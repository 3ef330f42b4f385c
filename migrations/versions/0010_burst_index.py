"""an index for the burst check: a desk's identical answer sets by time (PostgreSQL)

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-03 19:30:00

PostgreSQL: ``ix_responses_desk_same_answers`` on (desk, questionnaire,
``jsonb_hash(answers)``, submitted_at), for desks' responses. The burst check of every
kiosk and phone submission looks for the desk's identical answer sets within
``BURST_WINDOW_S`` of its time; through ``ix_responses_desk_received`` it read every
response the desk received in the last day (a busy desk's few hundred rows, each
submission). ``jsonb_hash`` is the hash PostgreSQL's own hash index of jsonb uses:
equal answer sets (by jsonb equality, the rule's) have equal hashes, so the index finds
them all and the rule's exact comparison stays in the query.

SQLite: nothing (its burst check runs in Python, :mod:`survey_app.collection.submissions.burst`).
"""

from alembic import op

# revision identifiers, used by Alembic.
revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

# Nothing is dropped but an index (derived data).
DOWNGRADE_DROPS = {
    "tables": (),
    "columns": (),
}


def upgrade():
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            "CREATE INDEX ix_responses_desk_same_answers ON responses "
            "(desk_id, questionnaire_id, jsonb_hash(answers), submitted_at) "
            "WHERE desk_id IS NOT NULL"
        )


def downgrade():
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP INDEX ix_responses_desk_same_answers")
