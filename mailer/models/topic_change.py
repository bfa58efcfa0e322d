"""The record of staff changes to topics: who changed what, and when."""
from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from mailer.extensions import db
from mailer.models.staff import StaffUser
from mailer.models.types import UTCDateTime, utcnow


class TopicChangeAction(StrEnum):
    CREATE = "create"
    EDIT = "edit"          # names, descriptions or visibility (detail lists the fields)
    MOVE = "move"          # its place in the order
    ARCHIVE = "archive"
    RESTORE = "restore"
    DELETE = "delete"


class TopicChange(db.Model):
    """One change a member of staff made to a topic; rows are only added.

    The topic id is kept without a foreign key, so the record of a deleted topic stays.
    """

    id: Mapped[int] = mapped_column(primary_key=True)
    topic_id: Mapped[int] = mapped_column(index=True)
    staff_id: Mapped[int | None] = mapped_column(ForeignKey("staff_user.id", ondelete="SET NULL"))
    action: Mapped[str] = mapped_column(String(16))
    detail: Mapped[str | None] = mapped_column(String(500))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    staff: Mapped[StaffUser | None] = relationship(viewonly=True)
