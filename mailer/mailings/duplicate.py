"""Duplicate a mailing: a new draft with the same content and audience.

Every column of Mailing is copied except those that belong to one sending (status, times,
sending state, who did what). The list below names what is NOT copied, so a content column
added later (e.g. a subject per language) is copied without a change here.
"""
from __future__ import annotations

from sqlalchemy import inspect

from mailer.extensions import db
from mailer.models import Mailing, MailingKind, MailingStatus

# A sending's own state, never carried into the copy.
NOT_COPIED = frozenset({
    "id", "status", "kind", "parent_id", "remind_days_before",
    "audience_complete", "audience_cursor", "status_reason", "auto_pause_reason",
    "relay_down_since", "relay_retry_at", "relay_error",
    "scheduled_at", "started_at", "finished_at", "created_at", "updated_at",
    "created_by_id", "scheduled_by_id", "edited_by_id", "presend_warnings",
})


class CannotDuplicate(ValueError):
    """A digest is made by the schedule for each reader: there is nothing to copy."""


def duplicate_mailing(mailing_id: int, staff_id: int | None) -> Mailing:
    """Create a draft announcement with the content, topics, language, event and template of a mailing."""
    original = db.session.get(Mailing, mailing_id)
    if original is None or original.kind == MailingKind.DIGEST:
        raise CannotDuplicate(str(mailing_id))
    copy = Mailing(status=MailingStatus.DRAFT, kind=MailingKind.ANNOUNCEMENT, created_by_id=staff_id,
                   edited_by_id=staff_id)
    for column in inspect(Mailing).columns:
        if column.key not in NOT_COPIED:
            setattr(copy, column.key, getattr(original, column.key))
    # The same audience; an archived topic gets no new mail, so it is left out of the copy.
    copy.topics = [topic for topic in original.topics if topic.archived_at is None]
    db.session.add(copy)
    db.session.flush()
    return copy
