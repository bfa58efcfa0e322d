"""security: staff session versions, test-send permission and log, login throttle, who scheduled and
last edited a mailing (issue 10)

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-30 09:10:00

"""
from alembic import op
import sqlalchemy as sa



revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade():
    # Plain ADD COLUMN: a batch copy of staff_user on SQLite would lose its lower(email) index.
    op.add_column('staff_user', sa.Column('session_version', sa.Integer(), server_default='0', nullable=False))
    op.add_column('staff_user', sa.Column('test_any_address', sa.Boolean(), server_default=sa.false(),
                                          nullable=False))
    with op.batch_alter_table('mailing') as batch_op:
        batch_op.add_column(sa.Column('scheduled_by_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('edited_by_id', sa.Integer(), nullable=True))
        batch_op.create_foreign_key(op.f('fk_mailing_scheduled_by_id_staff_user'), 'staff_user',
                                    ['scheduled_by_id'], ['id'], ondelete='SET NULL')
        batch_op.create_foreign_key(op.f('fk_mailing_edited_by_id_staff_user'), 'staff_user',
                                    ['edited_by_id'], ['id'], ondelete='SET NULL')
    op.create_table(
        'login_throttle',
        sa.Column('key', sa.String(length=64), nullable=False),
        sa.Column('failures', sa.Integer(), nullable=False),
        sa.Column('locked_until', sa.DateTime(timezone=True), nullable=True),
        sa.Column('last_failure_at', sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('key', name=op.f('pk_login_throttle')),
    )
    op.create_index(op.f('ix_login_throttle_last_failure_at'), 'login_throttle', ['last_failure_at'], unique=False)
    op.create_table(
        'test_send',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('staff_user_id', sa.Integer(), nullable=False),
        sa.Column('mailing_id', sa.Integer(), nullable=True),
        sa.Column('recipients', sa.Integer(), nullable=False),
        sa.Column('sent_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['mailing_id'], ['mailing.id'], name=op.f('fk_test_send_mailing_id_mailing'),
                                ondelete='SET NULL'),
        sa.ForeignKeyConstraint(['staff_user_id'], ['staff_user.id'], name=op.f('fk_test_send_staff_user_id_staff_user'),
                                ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_test_send')),
    )
    op.create_index('ix_test_send_staff_user_id_sent_at', 'test_send', ['staff_user_id', 'sent_at'], unique=False)


def downgrade():
    op.drop_index('ix_test_send_staff_user_id_sent_at', table_name='test_send')
    op.drop_table('test_send')
    op.drop_index(op.f('ix_login_throttle_last_failure_at'), table_name='login_throttle')
    op.drop_table('login_throttle')
    with op.batch_alter_table('mailing') as batch_op:
        batch_op.drop_constraint(op.f('fk_mailing_edited_by_id_staff_user'), type_='foreignkey')
        batch_op.drop_constraint(op.f('fk_mailing_scheduled_by_id_staff_user'), type_='foreignkey')
        batch_op.drop_column('edited_by_id')
        batch_op.drop_column('scheduled_by_id')
    with op.batch_alter_table('staff_user') as batch_op:
        batch_op.drop_column('test_any_address')
        batch_op.drop_column('session_version')
    # SQLite's batch copy drops the expression index; put it back (PostgreSQL kept it).
    op.execute('CREATE UNIQUE INDEX IF NOT EXISTS uq_staff_user_email_lower ON staff_user (lower(email))')
