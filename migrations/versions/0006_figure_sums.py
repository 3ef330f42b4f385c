"""figure sums: the sufficient statistics of the published figures, kept up to date

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-02 16:00:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None

# What downgrade() drops (see migrations/env.py). figure_sums is derived data (rebuilt
# by `flask figures rebuild`), so it is not guarded; responses.folded says which
# responses it holds.
DOWNGRADE_DROPS = {
    "tables": (),
    "columns": (),
}


def upgrade():
    op.create_table('figure_sums',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('wave_id', sa.Integer(), nullable=False),
    sa.Column('unit_id', sa.Integer(), nullable=False),
    sa.Column('stratum', sa.String(length=64), nullable=False),
    sa.Column('psu', sa.String(length=64), nullable=False),
    sa.Column('field_id', sa.Integer(), nullable=False),
    sa.Column('channel', sa.String(length=16), nullable=False),
    sa.Column('stat', sa.String(length=400), nullable=False),
    sa.Column('a', sa.Float(), nullable=False),
    sa.Column('b', sa.Float(), nullable=False),
    sa.Column('c', sa.Float(), nullable=False),
    sa.ForeignKeyConstraint(['wave_id'], ['waves.id'], name=op.f('fk_figure_sums_wave_id_waves'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_figure_sums')),
    sa.UniqueConstraint('wave_id', 'unit_id', 'stratum', 'psu', 'field_id', 'channel', 'stat', name='uq_figure_sums_cell')
    )
    with op.batch_alter_table('responses', schema=None) as batch_op:
        batch_op.add_column(sa.Column('folded', sa.Boolean(), server_default=sa.false(), nullable=False))
        batch_op.create_index('ix_responses_unfolded', ['wave_id'], unique=False,
                              postgresql_where=sa.text('NOT folded'), sqlite_where=sa.text('NOT folded'))


def downgrade():
    with op.batch_alter_table('responses', schema=None) as batch_op:
        batch_op.drop_index('ix_responses_unfolded')
        batch_op.drop_column('folded')
    op.drop_table('figure_sums')
