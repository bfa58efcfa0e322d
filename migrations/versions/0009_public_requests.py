"""public_request: signup and new-link requests kept until a task has handled them

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-30 09:30:00

"""
from alembic import op
import sqlalchemy as sa



revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('public_request',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('payload', sa.Text(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_public_request'))
    )
    with op.batch_alter_table('public_request', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_public_request_created_at'), ['created_at'], unique=False)


def downgrade():
    with op.batch_alter_table('public_request', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_public_request_created_at'))
    op.drop_table('public_request')
