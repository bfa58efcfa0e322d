"""sent copies: what an archived mailing showed when it went out, and the event details it carried

Revision ID: 0014
Revises: 0010
Create Date: 2026-11-30 11:10:00

"""
from alembic import op
import sqlalchemy as sa


revision = '0014'
down_revision = '0013'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('mailing_copy',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('mailing_id', sa.Integer(), nullable=False),
    sa.Column('language', sa.String(length=2), nullable=False),
    sa.Column('subject', sa.String(length=200), nullable=False),
    sa.Column('html', sa.Text(), nullable=False),
    sa.Column('text', sa.Text(), nullable=False),
    sa.Column('taken_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['mailing_id'], ['mailing.id'], name=op.f('fk_mailing_copy_mailing_id_mailing'),
                            ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_mailing_copy')),
    sa.UniqueConstraint('mailing_id', 'language', name=op.f('uq_mailing_copy_mailing_id'))
    )
    with op.batch_alter_table('mailing', schema=None) as batch_op:
        batch_op.add_column(sa.Column('sent_event_details', sa.Text(), nullable=True))


def downgrade():
    with op.batch_alter_table('mailing', schema=None) as batch_op:
        batch_op.drop_column('sent_event_details')
    op.drop_table('mailing_copy')
