"""bounce_event: the bounces, complaints and mailto unsubscribes the inbound listener acted on

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-30 09:00:00

"""
import sqlalchemy as sa
from alembic import op


revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('bounce_event',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('subscriber_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('mailing_id', sa.Integer(), nullable=True),
    sa.Column('delivery_id', sa.Integer(), nullable=True),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('report_id', sa.String(length=300), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['delivery_id'], ['delivery.id'], name=op.f('fk_bounce_event_delivery_id_delivery'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['mailing_id'], ['mailing.id'], name=op.f('fk_bounce_event_mailing_id_mailing'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['subscriber_id'], ['subscriber.id'], name=op.f('fk_bounce_event_subscriber_id_subscriber'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_bounce_event'))
    )
    op.create_index('ix_bounce_event_subscriber_created', 'bounce_event', ['subscriber_id', 'created_at'], unique=False)
    op.create_index(op.f('ix_bounce_event_mailing_id'), 'bounce_event', ['mailing_id'], unique=False)


def downgrade():
    op.drop_index(op.f('ix_bounce_event_mailing_id'), table_name='bounce_event')
    op.drop_index('ix_bounce_event_subscriber_created', table_name='bounce_event')
    op.drop_table('bounce_event')
