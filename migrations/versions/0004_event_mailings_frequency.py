"""event mailings (kinds, reminders), subscriber frequency and pause, chunked audience snapshot

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-26 22:45:00

"""
from alembic import op
import sqlalchemy as sa


revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('subscriber', schema=None) as batch_op:
        batch_op.add_column(sa.Column('frequency', sa.String(length=16), server_default='announcements', nullable=False))
        batch_op.add_column(sa.Column('paused_until', sa.DateTime(timezone=True), nullable=True))

    with op.batch_alter_table('announcement', schema=None) as batch_op:
        batch_op.add_column(sa.Column('kind', sa.String(length=16), server_default='announcement', nullable=False))
        batch_op.add_column(sa.Column('parent_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('remind_days_before', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('audience_complete', sa.Boolean(), server_default=sa.true(), nullable=False))
        batch_op.add_column(sa.Column('audience_cursor', sa.Integer(), nullable=True))
        batch_op.create_index(batch_op.f('ix_announcement_parent_id'), ['parent_id'], unique=False)
        batch_op.create_foreign_key(batch_op.f('fk_announcement_parent_id_announcement'), 'announcement',
                                    ['parent_id'], ['id'], ondelete='SET NULL')

    with op.batch_alter_table('delivery', schema=None) as batch_op:
        batch_op.add_column(sa.Column('payload', sa.Text(), nullable=True))


def downgrade():
    with op.batch_alter_table('delivery', schema=None) as batch_op:
        batch_op.drop_column('payload')

    with op.batch_alter_table('announcement', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_announcement_parent_id_announcement'), type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_announcement_parent_id'))
        batch_op.drop_column('audience_cursor')
        batch_op.drop_column('audience_complete')
        batch_op.drop_column('remind_days_before')
        batch_op.drop_column('parent_id')
        batch_op.drop_column('kind')

    with op.batch_alter_table('subscriber', schema=None) as batch_op:
        batch_op.drop_column('paused_until')
        batch_op.drop_column('frequency')
