"""alerts for leaders: episodes, preferences, subscriptions, receipts, digest log

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-02 15:20:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None

# What downgrade() drops (see migrations/env.py): every table this revision creates.
DOWNGRADE_DROPS = {
    "tables": (
        "alerts",
        "alert_preferences",
        "alert_subscriptions",
        "alert_receipts",
        "digest_log",
    ),
    "columns": (),
}

RULES = ('index_drop', 'funnel', 'silent_desk', 'burst', 'rate_anomaly')
BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
JSON = sa.JSON().with_variant(sa.dialects.postgresql.JSONB(), "postgresql")


def upgrade():
    op.create_table('alerts',
    sa.Column('id', BIG_ID, autoincrement=True, nullable=False),
    sa.Column('rule', sa.Enum(*RULES, name='alert_rule', native_enum=False, create_constraint=True, length=24), nullable=False),
    sa.Column('subject', sa.String(length=200), nullable=False),
    sa.Column('episode', sa.Integer(), nullable=False),
    sa.Column('unit_id', sa.Integer(), nullable=False),
    sa.Column('desk_id', sa.Integer(), nullable=True),
    sa.Column('size', sa.Float(), nullable=True),
    sa.Column('opened_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('last_seen_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('closed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('details', JSON, nullable=False),
    sa.ForeignKeyConstraint(['desk_id'], ['desks.id'], name=op.f('fk_alerts_desk_id_desks')),
    sa.ForeignKeyConstraint(['unit_id'], ['units.id'], name=op.f('fk_alerts_unit_id_units')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_alerts')),
    sa.UniqueConstraint('rule', 'subject', 'episode', name=op.f('uq_alerts_rule'))
    )
    with op.batch_alter_table('alerts', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_alerts_opened_at'), ['opened_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_alerts_unit_id'), ['unit_id'], unique=False)
        batch_op.create_index('uq_alerts_open_subject', ['rule', 'subject'], unique=True, sqlite_where=sa.text('closed_at IS NULL'), postgresql_where=sa.text('closed_at IS NULL'))

    op.create_table('alert_preferences',
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('address', sa.String(length=254), nullable=True),
    sa.Column('min_change', sa.Float(), server_default='5', nullable=False),
    sa.Column('email', sa.Boolean(), server_default=sa.text('true'), nullable=False),
    sa.Column('digest', sa.Boolean(), server_default=sa.text('true'), nullable=False),
    sa.Column('customised', sa.Boolean(), server_default=sa.text('false'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_alert_preferences_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('user_id', name=op.f('pk_alert_preferences'))
    )
    op.create_table('alert_subscriptions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('rule', sa.Enum(*RULES, name='subscription_rule', native_enum=False, create_constraint=True, length=24), nullable=False),
    sa.Column('unit_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['unit_id'], ['units.id'], name=op.f('fk_alert_subscriptions_unit_id_units'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_alert_subscriptions_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_alert_subscriptions')),
    sa.UniqueConstraint('user_id', 'rule', 'unit_id', name=op.f('uq_alert_subscriptions_user_id'))
    )
    with op.batch_alter_table('alert_subscriptions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_alert_subscriptions_user_id'), ['user_id'], unique=False)

    op.create_table('alert_receipts',
    sa.Column('id', BIG_ID, autoincrement=True, nullable=False),
    sa.Column('alert_id', BIG_ID, nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('acknowledged_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('emailed_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['alert_id'], ['alerts.id'], name=op.f('fk_alert_receipts_alert_id_alerts'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_alert_receipts_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_alert_receipts')),
    sa.UniqueConstraint('alert_id', 'user_id', name=op.f('uq_alert_receipts_alert_id'))
    )
    with op.batch_alter_table('alert_receipts', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_alert_receipts_alert_id'), ['alert_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_alert_receipts_user_id'), ['user_id'], unique=False)

    op.create_table('digest_log',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('week', sa.String(length=10), nullable=False),
    sa.Column('sent_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('alerts', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_digest_log_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_digest_log')),
    sa.UniqueConstraint('user_id', 'week', name=op.f('uq_digest_log_user_id'))
    )
    with op.batch_alter_table('digest_log', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_digest_log_user_id'), ['user_id'], unique=False)


def downgrade():
    op.drop_table('digest_log')
    op.drop_table('alert_receipts')
    op.drop_table('alert_subscriptions')
    op.drop_table('alert_preferences')
    op.drop_table('alerts')
