"""the submission inbox: a kiosk response acknowledged from one row, moved in bulk (PostgreSQL)

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-06 23:15:00

With ``SUBMISSION_INBOX`` on, the single statement of a submission on PostgreSQL
claims the response's key (``response_keys``: its client id and dossier, so a resend,
a conflict and a second response for a dossier are answered at once, as before) and
writes the response with its answer codes as one row of ``response_inbox``. The mover
(survey_app/collection/submissions/inbox.py) takes those rows in batches, decides the
burst flag, and inserts the responses, their queue rows and their answer rows, one
statement per batch. The 500-row statement pays once what the single statement paid per
response (its plan, its triggers' plans, its commit): benchmarks/README.md, "Stop 49".

``response_keys_claim`` is not run for a row the mover inserts (its key is claimed
already): the trigger gets a ``WHEN`` condition on the setting ``survey.inbox_move``,
which only the mover's transaction turns on (``SET LOCAL``). The condition is evaluated
without entering PL/pgSQL; the mover adds the queue rows itself.

SQLite has no inbox (its submissions take the general path); nothing changes there.

Downgrade: the trigger without its condition, and the table dropped (move the inbox
first: ``flask figures refresh`` does).
"""

from alembic import op

# revision identifiers, used by Alembic.
revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None

# The inbox's rows are copies waiting to be moved; docs/operations.md says to move them
# before a downgrade.
DOWNGRADE_DROPS = {
    "tables": ("response_inbox",),
    "columns": (),
}

CLAIM_TRIGGER = (
    "CREATE TRIGGER response_keys_claim BEFORE INSERT ON responses FOR EACH ROW {when}"
    "EXECUTE FUNCTION response_keys_claim()"
)


def upgrade():
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute(
        """CREATE TABLE response_inbox (
        id bigint CONSTRAINT pk_response_inbox PRIMARY KEY,
        client_id uuid NOT NULL,
        questionnaire_id integer NOT NULL,
        unit_id integer NOT NULL,
        desk_id integer,
        wave_id integer,
        procedure_id integer,
        channel varchar(24) NOT NULL,
        lang varchar(2) NOT NULL,
        started_at timestamptz,
        submitted_at timestamptz NOT NULL,
        received_at timestamptz NOT NULL,
        answers jsonb NOT NULL,
        content_hash varchar(64) NOT NULL,
        dossier_hash varchar(64),
        item_ids integer[] NOT NULL,
        item_values integer[] NOT NULL
    )"""
    )
    op.execute("DROP TRIGGER response_keys_claim ON responses")
    op.execute(
        CLAIM_TRIGGER.format(
            when="WHEN (current_setting('survey.inbox_move', true) IS DISTINCT FROM 'on') "
        )
    )


def downgrade():
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("DROP TRIGGER response_keys_claim ON responses")
    op.execute(CLAIM_TRIGGER.format(when=""))
    op.execute("DROP TABLE response_inbox")
