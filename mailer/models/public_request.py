"""A signup or new-link request from a public form, kept until a task has handled it."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import String, Text
from sqlalchemy.orm import Mapped, mapped_column

from mailer.extensions import db
from mailer.models.types import UTCDateTime, utcnow


class PublicRequest(db.Model):
    """The form's input, stored before the answer so that no request is lost.

    The form answers after this one INSERT, the same work whatever the address; a task does the
    work that depends on whether the address is known, then deletes the row in the same
    transaction. A row still here after a few minutes lost its task, and a beat queues it again.
    """

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))  # "signup" or "new_link"
    payload: Mapped[str] = mapped_column(Text)     # the form's fields as JSON, with the visitor's IP and agent
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
