"""one word for the thing that is sent: table announcement -> mailing (its kinds are announcement,
reminder, cancellation and digest), and announcement_id -> mailing_id

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-30 08:40:00

"""
from alembic import op


revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None

# (old, new) index names on the renamed table.
_INDEXES = (('ix_{0}_status', ['status']), ('ix_{0}_parent_id', ['parent_id']))


def _rename(old: str, new: str) -> None:
    op.rename_table(old, new)
    op.rename_table(f'{old}_topic', f'{new}_topic')
    for name, columns in _INDEXES:
        op.drop_index(name.format(old), table_name=new)
        op.create_index(name.format(new), new, columns, unique=False)
    with op.batch_alter_table(f'{new}_topic') as batch_op:
        batch_op.alter_column(f'{old}_id', new_column_name=f'{new}_id')
    # The unique constraint is named after the column, so it is made anew (SQLite cannot rename one).
    with op.batch_alter_table('delivery') as batch_op:
        batch_op.drop_constraint(f'uq_delivery_{old}_id', type_='unique')
        batch_op.alter_column(f'{old}_id', new_column_name=f'{new}_id')
    with op.batch_alter_table('delivery') as batch_op:
        batch_op.create_unique_constraint(f'uq_delivery_{new}_id', [f'{new}_id', 'subscriber_id'])
    if op.get_bind().dialect.name == 'postgresql':
        # Names PostgreSQL does not change with the table; only for tidiness, nothing depends on them.
        op.execute(f'ALTER SEQUENCE IF EXISTS {old}_id_seq RENAME TO {new}_id_seq')
        op.execute(f'ALTER TABLE {new} RENAME CONSTRAINT pk_{old} TO pk_{new}')
        op.execute(f'ALTER TABLE {new}_topic RENAME CONSTRAINT pk_{old}_topic TO pk_{new}_topic')


def upgrade():
    _rename('announcement', 'mailing')


def downgrade():
    _rename('mailing', 'announcement')
