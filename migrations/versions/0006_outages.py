"""outages: relay back-off on the mailing, the last automatic pause kept, claims and uncertain hand-offs counted apart

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-02 10:00:00

"""
from alembic import op
import sqlalchemy as sa


revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('mailing', schema=None) as batch_op:
        batch_op.add_column(sa.Column('relay_down_since', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('relay_retry_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('relay_error', sa.String(length=300), nullable=True))
        batch_op.add_column(sa.Column('auto_pause_reason', sa.String(length=300), nullable=True))

    with op.batch_alter_table('delivery', schema=None) as batch_op:
        batch_op.add_column(sa.Column('claims', sa.Integer(), server_default='0', nullable=False))
        batch_op.add_column(sa.Column('uncertain', sa.Integer(), server_default='0', nullable=False))


def downgrade():
    with op.batch_alter_table('delivery', schema=None) as batch_op:
        batch_op.drop_column('uncertain')
        batch_op.drop_column('claims')

    with op.batch_alter_table('mailing', schema=None) as batch_op:
        batch_op.drop_column('auto_pause_reason')
        batch_op.drop_column('relay_error')
        batch_op.drop_column('relay_retry_at')
        batch_op.drop_column('relay_down_since')
