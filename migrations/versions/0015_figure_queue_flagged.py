"""the figure store's queue marks the flagged responses, so that folds read them once

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-06 16:10:00

``figure_queue.flagged``: true once a fold has met the response flagged; the partial
index ``ix_figure_queue_pending`` holds the rows not marked, in id order, which is
what a fold reads.

Why: flagged responses are never folded and stay in the queue (the tallies count them
from there). Each fold joined every one of them to its response to leave it out: in
the 50-desk load benchmark, where most responses are flagged bursts, picking a batch
of 2,767 responses took as long as aggregating it (54 ms each), and grew with every
flagged response ever stored (benchmarks/README.md, stop 46). A fold now marks the
flagged responses it meets and never reads them again; a review that keeps one
unmarks it (``figure_store.requeue``), so the next fold takes it.

The upgrade marks the flagged responses already queued. Downgrade: the column and the
index go; the queue holds the same rows, as 0014 has them.
"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None

# The column is a mark the upgrade can set again from responses.flagged: no data lost.
DOWNGRADE_DROPS = {
    "tables": (),
    "columns": (),
}


def upgrade():
    op.add_column(
        "figure_queue",
        sa.Column("flagged", sa.Boolean(), server_default=sa.false(), nullable=False),
    )
    op.execute(
        "UPDATE figure_queue SET flagged = true WHERE EXISTS (SELECT 1 FROM responses AS r "
        "WHERE r.id = figure_queue.response_id AND r.wave_id = figure_queue.wave_id "
        "AND r.flagged)"
    )
    op.execute(
        "CREATE INDEX ix_figure_queue_pending ON figure_queue (response_id) WHERE NOT flagged"
    )
    if op.get_bind().dialect.name == "postgresql":
        op.execute("ANALYZE figure_queue")  # the planner sees how few rows are not marked


def downgrade():
    op.execute("DROP INDEX ix_figure_queue_pending")
    op.execute("ALTER TABLE figure_queue DROP COLUMN flagged")
