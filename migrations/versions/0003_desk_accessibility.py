"""desk settings for citizens: dossier-code question and reading questions aloud

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-02 15:05:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None

# What downgrade() drops (see migrations/env.py): a column "holds data" where the
# condition is true, i.e. an admin changed it from the default the upgrade gave.
DOWNGRADE_DROPS = {
    "tables": (),
    "columns": (
        ("desks", "dossier_codes", "dossier_codes <> true"),
        ("desks", "dossier_on_kiosk", "dossier_on_kiosk <> false"),
        ("desks", "read_aloud_auto", "read_aloud_auto <> false"),
    ),
}


def upgrade():
    with op.batch_alter_table('desks', schema=None) as batch_op:
        batch_op.add_column(sa.Column('dossier_codes', sa.Boolean(), server_default=sa.true(), nullable=False))
        batch_op.add_column(sa.Column('dossier_on_kiosk', sa.Boolean(), server_default=sa.false(), nullable=False))
        batch_op.add_column(sa.Column('read_aloud_auto', sa.Boolean(), server_default=sa.false(), nullable=False))


def downgrade():
    with op.batch_alter_table('desks', schema=None) as batch_op:
        batch_op.drop_column('read_aloud_auto')
        batch_op.drop_column('dossier_on_kiosk')
        batch_op.drop_column('dossier_codes')
