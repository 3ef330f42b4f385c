"""small-area estimates: a per-wave switch with the chosen model

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-02 15:30:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None

# What downgrade() drops (see migrations/env.py): every table this revision creates.
DOWNGRADE_DROPS = {
    "tables": ("small_area_settings",),
    "columns": (),
}

JSON = sa.JSON().with_variant(sa.dialects.postgresql.JSONB(), "postgresql")


def upgrade():
    op.create_table('small_area_settings',
    sa.Column('wave_id', sa.Integer(), nullable=False),
    sa.Column('enabled', sa.Boolean(), nullable=False),
    sa.Column('method', sa.String(length=8), nullable=False),
    sa.Column('covariates', JSON, nullable=False),
    sa.Column('uploaded', JSON, nullable=True),
    sa.Column('smooth_variances', sa.Boolean(), nullable=False),
    sa.Column('updated_by_id', sa.Integer(), nullable=True),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['updated_by_id'], ['users.id'], name=op.f('fk_small_area_settings_updated_by_id_users')),
    sa.ForeignKeyConstraint(['wave_id'], ['waves.id'], name=op.f('fk_small_area_settings_wave_id_waves')),
    sa.PrimaryKeyConstraint('wave_id', name=op.f('pk_small_area_settings'))
    )


def downgrade():
    op.drop_table('small_area_settings')
