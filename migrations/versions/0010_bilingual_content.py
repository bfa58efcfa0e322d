"""bilingual content: mailings and events written in Danish and English

A mailing's subject, preheader and text, and an event's title, description and venue (and
its sessions' titles) get a Danish and an English column. Existing text moves to the column
of its language: a mailing's by its language (none, "both": Danish), an event's by its
language. The mailing's language stays as an optional audience filter (audience_language);
the event's goes. The downgrade puts each text back from the version in the old language.

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-30 11:00:00

"""
from alembic import op
import sqlalchemy as sa


revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None

MAILING_TEXTS = (('subject', sa.String(length=200)), ('preheader', sa.String(length=200)),
                 ('body_markdown', sa.Text()))
EVENT_TEXTS = (('title', sa.String(length=200), False), ('description_markdown', sa.Text(), False),
               ('venue', sa.String(length=200), True))


def _add_versions(table, columns):
    with op.batch_alter_table(table, schema=None) as batch_op:
        for name, type_, nullable in columns:
            for language in ('da', 'en'):
                batch_op.add_column(sa.Column(f'{name}_{language}', type_, nullable=nullable,
                                              server_default=None if nullable else ''))


def upgrade():
    _add_versions('mailing', [(name, type_, False) for name, type_ in MAILING_TEXTS])
    _add_versions('event', EVENT_TEXTS)
    _add_versions('event_session', [('title', sa.String(length=200), False)])
    for name, _ in MAILING_TEXTS:
        op.execute(f"UPDATE mailing SET {name}_en = {name} WHERE language = 'en'")
        op.execute(f"UPDATE mailing SET {name}_da = {name} WHERE language IS NULL OR language <> 'en'")
    for name, _, _ in EVENT_TEXTS:
        op.execute(f"UPDATE event SET {name}_en = {name} WHERE language = 'en'")
        op.execute(f"UPDATE event SET {name}_da = {name} WHERE language <> 'en'")
    op.execute("UPDATE event_session SET title_en = title WHERE event_id IN (SELECT id FROM event WHERE language = 'en')")
    op.execute("UPDATE event_session SET title_da = title WHERE event_id NOT IN (SELECT id FROM event WHERE language = 'en')")
    with op.batch_alter_table('mailing', schema=None) as batch_op:
        batch_op.alter_column('language', new_column_name='audience_language',
                              existing_type=sa.String(length=2), existing_nullable=True)
        for name, _ in MAILING_TEXTS:
            batch_op.drop_column(name)
    with op.batch_alter_table('event', schema=None) as batch_op:
        for name, _, _ in EVENT_TEXTS:
            batch_op.drop_column(name)
        batch_op.drop_column('language')
    with op.batch_alter_table('event_session', schema=None) as batch_op:
        batch_op.drop_column('title')


def _one_version(name, language_sql):
    """The version in the row's language, else the other one (an empty version fell back)."""
    return (f"CASE WHEN {language_sql} = 'en' THEN COALESCE(NULLIF({name}_en, ''), {name}_da) "
            f"ELSE COALESCE(NULLIF({name}_da, ''), {name}_en) END")


def downgrade():
    with op.batch_alter_table('mailing', schema=None) as batch_op:
        for name, type_ in MAILING_TEXTS:
            batch_op.add_column(sa.Column(name, type_, nullable=False, server_default=''))
        batch_op.alter_column('audience_language', new_column_name='language',
                              existing_type=sa.String(length=2), existing_nullable=True)
    with op.batch_alter_table('event', schema=None) as batch_op:
        for name, type_, nullable in EVENT_TEXTS:
            batch_op.add_column(sa.Column(name, type_, nullable=nullable, server_default=None if nullable else ''))
        batch_op.add_column(sa.Column('language', sa.String(length=2), nullable=False, server_default='da'))
    with op.batch_alter_table('event_session', schema=None) as batch_op:
        batch_op.add_column(sa.Column('title', sa.String(length=200), nullable=False, server_default=''))
    for name, _ in MAILING_TEXTS:
        op.execute(f"UPDATE mailing SET {name} = {_one_version(name, 'language')}")
    # An event written only in English was an English event.
    op.execute("UPDATE event SET language = 'en' WHERE title_da = '' AND title_en <> ''")
    for name, _, _ in EVENT_TEXTS:
        op.execute(f"UPDATE event SET {name} = {_one_version(name, 'language')}")
    op.execute("UPDATE event_session SET title = " + _one_version('title', "(SELECT language FROM event WHERE event.id = event_session.event_id)"))
    with op.batch_alter_table('event_session', schema=None) as batch_op:
        for language in ('da', 'en'):
            batch_op.drop_column(f'title_{language}')
    with op.batch_alter_table('event', schema=None) as batch_op:
        for name, _, _ in EVENT_TEXTS:
            for language in ('da', 'en'):
                batch_op.drop_column(f'{name}_{language}')
    with op.batch_alter_table('mailing', schema=None) as batch_op:
        for name, _ in MAILING_TEXTS:
            for language in ('da', 'en'):
                batch_op.drop_column(f'{name}_{language}')
