"""Small SQL helpers the ledger and the audience share, with PostgreSQL's faster forms."""
from __future__ import annotations

from sqlalchemy import ARRAY, Integer, any_, literal
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from mailer.extensions import db


def on_postgresql() -> bool:
    return db.session.get_bind().dialect.name == "postgresql"


def dialect_insert():
    """INSERT with ON CONFLICT support for the database in use."""
    return pg_insert if on_postgresql() else sqlite_insert


def in_ids(column, ids: list[int]):
    """`column IN ids`; on PostgreSQL as `= ANY(array)`, one parameter however many ids.

    An IN list of 500 parameters cost about 20 ms a batch to build and bind (docs/PERFORMANCE.md).
    """
    if on_postgresql():
        return column == any_(literal(ids, ARRAY(Integer)))
    return column.in_(ids)
