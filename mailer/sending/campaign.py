"""Move announcements through their states with conditional UPDATEs, so repeats do nothing."""
from __future__ import annotations

import logging
from datetime import datetime
from enum import Enum

from sqlalchemy import exists, select, update
from sqlalchemy.orm import aliased

from mailer.extensions import db
from mailer.models import Announcement, AnnouncementKind, AnnouncementStatus
from mailer.models.types import utcnow
from mailer.sending import ledger
from mailer.sending.audience import snapshot_audience

log = logging.getLogger(__name__)

EDITABLE = (AnnouncementStatus.DRAFT, AnnouncementStatus.SCHEDULED)


class InvalidTransition(ValueError):
    """The announcement is not in a state that allows this."""


def _transition(announcement_id: int, allowed: tuple[AnnouncementStatus, ...], **values) -> bool:
    result = db.session.execute(
        update(Announcement)
        .where(Announcement.id == announcement_id, Announcement.status.in_(allowed))
        .values(updated_at=utcnow(), **values)
        .execution_options(synchronize_session=False)
    )
    db.session.commit()
    return result.rowcount == 1


def schedule(announcement_id: int, when: datetime) -> None:
    """Schedule a draft (or re-time a scheduled one) to start at `when` (aware datetime)."""
    if not _transition(announcement_id, EDITABLE, status=AnnouncementStatus.SCHEDULED, scheduled_at=when):
        raise InvalidTransition("only a draft or scheduled announcement can be scheduled")


def send_now(announcement_id: int) -> None:
    """Schedule for now; the caller queues the start task, which takes the same path as beat."""
    schedule(announcement_id, utcnow())


def unschedule(announcement_id: int) -> None:
    """Turn a scheduled announcement back into a draft."""
    if not _transition(announcement_id, (AnnouncementStatus.SCHEDULED,), status=AnnouncementStatus.DRAFT, scheduled_at=None):
        raise InvalidTransition("only a scheduled announcement can go back to draft")


def _parent_not_going_out():
    """A reminder or cancellation notice waits while its parent is still scheduled, sending or paused:
    its audience is the parent's recipients, so starting early would miss those not yet sent to."""
    parent = aliased(Announcement)
    return ~exists().where(parent.id == Announcement.parent_id, parent.status.in_(
        (AnnouncementStatus.SCHEDULED, AnnouncementStatus.SENDING, AnnouncementStatus.PAUSED)))


def due_announcement_ids() -> list[int]:
    """Return scheduled announcements whose time has come."""
    query = select(Announcement.id).where(
        Announcement.status == AnnouncementStatus.SCHEDULED, Announcement.scheduled_at <= utcnow(),
        _parent_not_going_out(),
    )
    return list(db.session.scalars(query))


# Audience rows are snapshotted this many subscribers at a time: the first chunk when the
# announcement starts, the rest by the senders as they run out of rows. One INSERT ... SELECT
# for a whole 1M list held back the first mail for 40-60 s (docs/PERFORMANCE.md).
AUDIENCE_CHUNK = 5000


def start(announcement_id: int) -> bool:
    """Start a due announcement once: scheduled -> sending and the first audience chunk, in one transaction.

    Two beats, a redelivered task and a manual "send now" may all call this; only the
    one whose conditional UPDATE matches starts the announcement.
    """
    now = utcnow()
    result = db.session.execute(
        update(Announcement)
        .where(Announcement.id == announcement_id, Announcement.status == AnnouncementStatus.SCHEDULED,
               Announcement.scheduled_at <= now, _parent_not_going_out())
        .values(status=AnnouncementStatus.SENDING, started_at=now, updated_at=now,
                audience_complete=False, audience_cursor=0)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:
        db.session.rollback()
        return False
    added = _snapshot_next_chunk(announcement_id, 0)
    db.session.commit()
    log.info("announcement %s started; first %s recipients in the ledger", announcement_id, added)
    return True


def _snapshot_next_chunk(announcement_id: int, cursor: int) -> int:
    chunk = snapshot_audience(announcement_id, cursor, AUDIENCE_CHUNK)
    db.session.execute(
        update(Announcement).where(Announcement.id == announcement_id)
        .values(audience_cursor=chunk.last_subscriber_id, audience_complete=chunk.complete)
        .execution_options(synchronize_session=False)
    )
    return chunk.added


class AudienceState(Enum):
    COMPLETE = "complete"   # every recipient has a ledger row
    EXTENDED = "extended"   # one more chunk went in
    BUSY = "busy"           # another worker is adding a chunk right now


def extend_audience(announcement_id: int) -> AudienceState:
    """Add the next chunk of the audience to the ledger, unless it is all there already."""
    # The row lock keeps two senders from snapshotting the same chunk; a sender that finds
    # it taken goes back to claiming (rows are on their way).
    row = db.session.execute(
        select(Announcement.audience_complete, Announcement.audience_cursor)
        .where(Announcement.id == announcement_id)
        .with_for_update(skip_locked=True)
    ).first()
    if row is None or row.audience_complete:
        db.session.rollback()
        return AudienceState.BUSY if row is None else AudienceState.COMPLETE
    _snapshot_next_chunk(announcement_id, row.audience_cursor or 0)
    db.session.commit()
    return AudienceState.EXTENDED


def audience_complete(announcement_id: int) -> bool:
    """Return True once every recipient of the announcement has a ledger row."""
    return bool(db.session.scalar(select(Announcement.audience_complete).where(Announcement.id == announcement_id)))


def pause(announcement_id: int, reason: str | None = None) -> None:
    """Pause sending; workers stop between groups and hand their unsent rows back."""
    if not _transition(announcement_id, (AnnouncementStatus.SENDING,), status=AnnouncementStatus.PAUSED,
                       status_reason=reason):
        raise InvalidTransition("only a sending announcement can be paused")
    log.warning("announcement %s paused: %s", announcement_id, reason or "by staff")


def resume(announcement_id: int) -> None:
    """Resume a paused announcement; the caller wakes the workers."""
    if not _transition(announcement_id, (AnnouncementStatus.PAUSED,), status=AnnouncementStatus.SENDING,
                       status_reason=None):
        raise InvalidTransition("only a paused announcement can be resumed")


def cancel(announcement_id: int) -> None:
    """Cancel before or during sending; rows not yet sent stay unsent."""
    allowed = (*EDITABLE, AnnouncementStatus.SENDING, AnnouncementStatus.PAUSED)
    if not _transition(announcement_id, allowed, status=AnnouncementStatus.CANCELLED, finished_at=utcnow()):
        raise InvalidTransition("this announcement can no longer be cancelled")
    # Its reminders would go only to whoever it reached before the cancel: they go too.
    db.session.execute(
        update(Announcement)
        .where(Announcement.parent_id == announcement_id, Announcement.kind == AnnouncementKind.REMINDER,
               Announcement.status.in_(EDITABLE))
        .values(status=AnnouncementStatus.CANCELLED, finished_at=utcnow(), updated_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    db.session.commit()


def finish_if_done(announcement_id: int) -> bool:
    """Mark sent only when the whole audience is in the ledger and no row is pending, claimed or retrying."""
    if not audience_complete(announcement_id) or ledger.has_open_rows(announcement_id):
        return False
    return _transition(announcement_id, (AnnouncementStatus.SENDING,), status=AnnouncementStatus.SENT,
                       finished_at=utcnow())


def sending_announcement_ids() -> list[int]:
    """Return announcements currently sending."""
    return list(db.session.scalars(select(Announcement.id).where(Announcement.status == AnnouncementStatus.SENDING)))


def status_of(announcement_id: int) -> str | None:
    """Read the current status straight from the database (not the session's cache)."""
    return db.session.scalar(select(Announcement.status).where(Announcement.id == announcement_id))
