"""topics archive and change record, consent ledger keeps topic text and mailing, per-link click counts,
the weekly subscriber rollup of the dashboard

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-30 11:00:00

"""
from alembic import op
import sqlalchemy as sa


revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('topic', schema=None) as batch_op:
        batch_op.add_column(sa.Column('archived_at', sa.DateTime(timezone=True), nullable=True))

    with op.batch_alter_table('consent_event', schema=None) as batch_op:
        batch_op.add_column(sa.Column('topic_name', sa.String(length=120), nullable=True))
        batch_op.add_column(sa.Column('mailing_id', sa.Integer(), nullable=True))
        batch_op.create_index(batch_op.f('ix_consent_event_mailing_id'), ['mailing_id'], unique=False)
        batch_op.create_foreign_key(batch_op.f('fk_consent_event_mailing_id_mailing'), 'mailing',
                                    ['mailing_id'], ['id'], ondelete='SET NULL')
    # Earlier rows keep the text the topic has now: the closest record of what was seen.
    op.execute("UPDATE consent_event SET topic_name = (SELECT CASE WHEN s.language = 'da' THEN t.name_da "
               "ELSE t.name_en END FROM topic t, subscriber s WHERE t.id = consent_event.topic_id "
               "AND s.id = consent_event.subscriber_id) WHERE topic_id IS NOT NULL")

    op.create_table('topic_change',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('topic_id', sa.Integer(), nullable=False),
    sa.Column('staff_id', sa.Integer(), nullable=True),
    sa.Column('action', sa.String(length=16), nullable=False),
    sa.Column('detail', sa.String(length=500), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['staff_id'], ['staff_user.id'], name=op.f('fk_topic_change_staff_id_staff_user'),
                            ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_topic_change'))
    )
    with op.batch_alter_table('topic_change', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_topic_change_topic_id'), ['topic_id'], unique=False)

    op.create_table('mailing_link',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('mailing_id', sa.Integer(), nullable=False),
    sa.Column('url', sa.Text(), nullable=False),
    sa.Column('url_hash', sa.String(length=64), nullable=False),
    sa.Column('clicks', sa.Integer(), server_default='0', nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['mailing_id'], ['mailing.id'], name=op.f('fk_mailing_link_mailing_id_mailing'),
                            ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_mailing_link')),
    sa.UniqueConstraint('mailing_id', 'url_hash', name=op.f('uq_mailing_link_mailing_id'))
    )
    with op.batch_alter_table('mailing_link', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_mailing_link_mailing_id'), ['mailing_id'], unique=False)


    op.create_table('subscriber_week',
    sa.Column('week_start', sa.Date(), nullable=False),
    sa.Column('topic_id', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('new', sa.Integer(), nullable=False),
    sa.Column('confirmed', sa.Integer(), nullable=False),
    sa.Column('unsubscribed', sa.Integer(), nullable=False),
    sa.Column('bounced', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('week_start', 'topic_id', name=op.f('pk_subscriber_week'))
    )

    op.create_table('mailing_outcome_count',
    sa.Column('mailing_id', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('outcomes', sa.Text(), nullable=False),
    sa.Column('counted_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['mailing_id'], ['mailing.id'], name=op.f('fk_mailing_outcome_count_mailing_id_mailing'),
                            ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('mailing_id', name=op.f('pk_mailing_outcome_count'))
    )


def downgrade():
    op.drop_table('mailing_outcome_count')
    op.drop_table('subscriber_week')
    with op.batch_alter_table('mailing_link', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_mailing_link_mailing_id'))
    op.drop_table('mailing_link')
    with op.batch_alter_table('topic_change', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_topic_change_topic_id'))
    op.drop_table('topic_change')
    with op.batch_alter_table('consent_event', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_consent_event_mailing_id_mailing'), type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_consent_event_mailing_id'))
        batch_op.drop_column('mailing_id')
        batch_op.drop_column('topic_name')
    with op.batch_alter_table('topic', schema=None) as batch_op:
        batch_op.drop_column('archived_at')
