"""figure cells and counts: the figure store's sums per PSU, every statistic in one row;
responses folded per wave, unit and channel

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-03 11:00:00

"""

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

# What downgrade() drops (see migrations/env.py). figure_cells is derived data (rebuilt
# by `flask figures rebuild`), so it is not guarded.
DOWNGRADE_DROPS = {
    "tables": (),
    "columns": (),
}


def upgrade():
    op.create_table(
        "figure_stat_lists",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("names", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_figure_stat_lists")),
        sa.UniqueConstraint("names", name=op.f("uq_figure_stat_lists_names")),
    )
    op.create_table(
        "figure_cells",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("wave_id", sa.Integer(), nullable=False),
        sa.Column("unit_id", sa.Integer(), nullable=False),
        sa.Column("stratum", sa.String(length=64), nullable=False),
        sa.Column("psu", sa.String(length=64), nullable=False),
        sa.Column("stats_id", sa.Integer(), nullable=False),
        sa.Column("sums", sa.LargeBinary(), nullable=False),
        sa.ForeignKeyConstraint(
            ["wave_id"],
            ["waves.id"],
            name=op.f("fk_figure_cells_wave_id_waves"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["stats_id"],
            ["figure_stat_lists.id"],
            name=op.f("fk_figure_cells_stats_id_figure_stat_lists"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_figure_cells")),
        sa.UniqueConstraint("wave_id", "unit_id", "stratum", "psu", name="uq_figure_cells_cell"),
    )
    op.create_table(
        "figure_counts",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("wave_id", sa.Integer(), nullable=False),
        sa.Column("unit_id", sa.Integer(), nullable=False),
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("responses", sa.Integer(), nullable=False),
        sa.Column("first_submitted", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_submitted", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_received", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["wave_id"],
            ["waves.id"],
            name=op.f("fk_figure_counts_wave_id_waves"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_figure_counts")),
        sa.UniqueConstraint("wave_id", "unit_id", "channel", name="uq_figure_counts_cell"),
    )
    # The folded responses are not in the new table: empty the store and unfold them
    # (read from their rows until the next `figures refresh` folds them into both).
    op.execute("DELETE FROM figure_sums")
    op.execute(
        sa.text("UPDATE responses SET folded = :no WHERE folded = :yes").bindparams(
            no=False, yes=True
        )
    )


def downgrade():
    op.drop_table("figure_counts")
    op.drop_table("figure_cells")
    op.drop_table("figure_stat_lists")
