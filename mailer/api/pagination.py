"""Keyset pagination: items after an id, in id order; `next_after` is the last id when more follow."""
from __future__ import annotations

from typing import Any

from sqlalchemy import Select

from mailer.extensions import db


def keyset_page(query: Select, id_column: Any, after: int | None, limit: int) -> dict[str, Any]:
    if after:
        query = query.where(id_column > after)
    rows = list(db.session.scalars(query.order_by(id_column).limit(limit + 1)))
    more = len(rows) > limit
    rows = rows[:limit]
    return {"items": rows, "next_after": rows[-1].id if more else None}
