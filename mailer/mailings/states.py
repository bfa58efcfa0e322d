"""Move mailings through their states with conditional UPDATEs, so repeats do nothing."""
from __future__ import annotations

import logging
from datetime import datetime, timedelta
from enum import Enum

from sqlalchemy import bindparam, exists, func, select, update
from sqlalchemy.orm import aliased

from mailer.extensions import db
from mailer.models import Delivery, Mailing, MailingKind, MailingStatus
from mailer.models.mailing import CANCELLABLE, EDITABLE, GOING_OUT, PAUSABLE, RESUMABLE
from mailer import clock
from mailer.outbound_webhooks import events as webhook_events
from mailer.mailings.sent_copies import take_copies
from mailer.sending import deliveries
from mailer.sending.snapshot import snapshot_audience

log = logging.getLogger(__name__)


class InvalidTransition(ValueError):
    """The mailing is not in a state that allows this."""


def _move(mailing_id: int, allowed: tuple[MailingStatus, ...], **values) -> bool:
    result = db.session.execute(
        update(Mailing)
        .where(Mailing.id == mailing_id, Mailing.status.in_(allowed))
        .values(updated_at=clock.utcnow(), **values)
        .execution_options(synchronize_session=False)
    )
    return result.rowcount == 1


def _transition(mailing_id: int, allowed: tuple[MailingStatus, ...], **values) -> bool:
    moved = _move(mailing_id, allowed, **values)
    db.session.commit()
    return moved


def mark_scheduled(mailing_id: int, when: datetime, scheduled_by_id: int | None = None) -> None:
    """Schedule a draft (or re-time a scheduled one) in the caller's transaction; the caller commits."""
    if not _move(mailing_id, EDITABLE, status=MailingStatus.SCHEDULED, scheduled_at=when,
                 scheduled_by_id=scheduled_by_id):
        raise InvalidTransition("only a draft or scheduled mailing can be scheduled")


def schedule(mailing_id: int, when: datetime) -> None:
    """Schedule a draft (or re-time a scheduled one) to start at `when` (aware datetime)."""
    try:
        mark_scheduled(mailing_id, when)
    finally:
        db.session.commit()


def send_now(mailing_id: int) -> None:
    """Schedule for now; the caller queues the start task, which takes the same path as beat."""
    schedule(mailing_id, clock.utcnow())


def unschedule(mailing_id: int) -> None:
    """Turn a scheduled mailing back into a draft."""
    if not _transition(mailing_id, (MailingStatus.SCHEDULED,), status=MailingStatus.DRAFT, scheduled_at=None,
                       scheduled_by_id=None):
        raise InvalidTransition("only a scheduled mailing can go back to draft")


def _parent_not_going_out():
    """A reminder or cancellation notice waits while its parent is still scheduled, sending or paused:
    its audience is the parent's recipients, so starting early would miss those not yet sent to."""
    parent = aliased(Mailing)
    return ~exists().where(parent.id == Mailing.parent_id, parent.status.in_(GOING_OUT))


def due_mailing_ids() -> list[int]:
    """Return scheduled mailings whose time has come."""
    query = select(Mailing.id).where(
        Mailing.status == MailingStatus.SCHEDULED, Mailing.scheduled_at <= clock.utcnow(),
        _parent_not_going_out(),
    )
    return list(db.session.scalars(query))


# Audience rows are snapshotted this many subscribers at a time: the first chunk when the
# mailing starts, the rest by the senders as they run out of rows. One INSERT ... SELECT
# for a whole 1M list held back the first mail for 40-60 s (docs/PERFORMANCE.md).
AUDIENCE_CHUNK = 5000


def start(mailing_id: int) -> bool:
    """Start a due mailing once: scheduled -> sending and the first audience chunk, in one transaction.

    Two beats, a redelivered task and a manual "send now" may all call this; only the
    one whose conditional UPDATE matches starts the mailing.
    """
    now = clock.utcnow()
    result = db.session.execute(
        update(Mailing)
        .where(Mailing.id == mailing_id, Mailing.status == MailingStatus.SCHEDULED,
               Mailing.scheduled_at <= now, _parent_not_going_out())
        .values(status=MailingStatus.SENDING, started_at=now, updated_at=now,
                audience_complete=False, audience_cursor=0)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:
        db.session.rollback()
        return False
    added = _snapshot_next_chunk(mailing_id, 0)
    if not added and _nobody_to_send_to(mailing_id):
        db.session.commit()
        return False
    # What it says as it goes out: the archive shows this, whatever becomes of the event later.
    take_copies(db.session.get(Mailing, mailing_id))
    db.session.commit()
    log.info("mailing %s started; first %s recipients in the ledger", mailing_id, added)
    return True


def _nobody_to_send_to(mailing_id: int) -> bool:
    """End a mailing whose audience was empty when it started: cancelled, never "sent" to 0 of 0.

    Why cancelled: nothing went out and nothing will, and the progress page says why
    (progress_of's no_audience). Its reminders, which would go to its recipients, go with it.
    A digest is the exception: one that nobody needs is normal, and its page says so.
    """
    row = db.session.execute(select(Mailing.kind, Mailing.audience_complete).where(Mailing.id == mailing_id)).one()
    if row.kind == MailingKind.DIGEST or not row.audience_complete:
        return False
    now = clock.utcnow()
    _move(mailing_id, (MailingStatus.SENDING,), status=MailingStatus.CANCELLED, finished_at=now)
    _cancel_waiting_reminders(mailing_id)
    log.warning("mailing %s had nobody in its audience when it started: cancelled, nothing sent", mailing_id)
    return True


def _cancel_waiting_reminders(mailing_id: int) -> None:
    db.session.execute(
        update(Mailing)
        .where(Mailing.parent_id == mailing_id, Mailing.kind == MailingKind.REMINDER,
               Mailing.status.in_(EDITABLE))
        .values(status=MailingStatus.CANCELLED, finished_at=clock.utcnow(), updated_at=clock.utcnow())
        .execution_options(synchronize_session=False)
    )



def _snapshot_next_chunk(mailing_id: int, cursor: int) -> int:
    chunk = snapshot_audience(mailing_id, cursor, AUDIENCE_CHUNK)
    db.session.execute(
        update(Mailing).where(Mailing.id == mailing_id)
        .values(audience_cursor=chunk.last_subscriber_id, audience_complete=chunk.complete)
        .execution_options(synchronize_session=False)
    )
    return chunk.added


class AudienceState(Enum):
    COMPLETE = "complete"   # every recipient has a ledger row
    EXTENDED = "extended"   # one more chunk went in
    BUSY = "busy"           # another worker is adding a chunk right now


def extend_audience(mailing_id: int) -> AudienceState:
    """Add the next chunk of the audience to the ledger, unless it is all there already."""
    # The row lock keeps two senders from snapshotting the same chunk; a sender that finds
    # it taken goes back to claiming (rows are on their way).
    row = db.session.execute(
        select(Mailing.audience_complete, Mailing.audience_cursor)
        .where(Mailing.id == mailing_id)
        .with_for_update(skip_locked=True)
    ).first()
    if row is None or row.audience_complete:
        db.session.rollback()
        return AudienceState.BUSY if row is None else AudienceState.COMPLETE
    _snapshot_next_chunk(mailing_id, row.audience_cursor or 0)
    db.session.commit()
    return AudienceState.EXTENDED


def audience_complete(mailing_id: int) -> bool:
    """Return True once every recipient of the mailing has a ledger row."""
    return bool(db.session.scalar(select(Mailing.audience_complete).where(Mailing.id == mailing_id)))


def pause(mailing_id: int, reason: str | None = None, *, automatic: bool = False) -> None:
    """Pause sending; workers stop between groups and hand their unsent rows back.

    The reason of an automatic pause is also kept in auto_pause_reason, which a resume leaves
    alone: the finished mailing still says why it stopped on the way.
    """
    extra = {"auto_pause_reason": reason} if automatic else {}
    if not _transition(mailing_id, PAUSABLE, status=MailingStatus.PAUSED,
                       status_reason=reason, **extra):
        raise InvalidTransition("only a sending mailing can be paused")
    log.warning("mailing %s paused: %s", mailing_id, reason or "by staff")


def resume(mailing_id: int) -> None:
    """Resume a paused mailing; the caller wakes the workers."""
    if not _transition(mailing_id, RESUMABLE, status=MailingStatus.SENDING,
                       status_reason=None):
        raise InvalidTransition("only a paused mailing can be resumed")


def relay_unavailable(mailing_id: int, error: str, base_seconds: float, max_seconds: float) -> datetime:
    """Note that the relay cannot be reached and set the next try: the wait doubles, up to max_seconds.

    The wait is the time the relay has been down so far, at least base_seconds and at most
    max_seconds, so the tries come at about base, 2 base, 4 base, ... after the outage began.
    Returns the time of the next try.
    """
    now = clock.utcnow()
    since = db.session.scalar(select(Mailing.relay_down_since).where(Mailing.id == mailing_id)) or now
    wait = min(max_seconds, max(base_seconds, (now - since).total_seconds()))
    retry_at = now + timedelta(seconds=wait)
    _transition(mailing_id, (MailingStatus.SENDING, MailingStatus.PAUSED), relay_down_since=since,
                relay_retry_at=retry_at, relay_error=error[:300])
    log.warning("mailing %s: the mail server is unreachable since %s; next try at %s: %s",
                mailing_id, since, retry_at, error)
    return retry_at


def relay_available(mailing_id: int) -> None:
    """The relay answered again: clear the waiting state."""
    db.session.execute(
        update(Mailing).where(Mailing.id == mailing_id, Mailing.relay_down_since.is_not(None))
        .values(relay_down_since=None, relay_retry_at=None, relay_error=None)
        .execution_options(synchronize_session=False)
    )
    db.session.commit()


def resend_unknown(mailing_id: int) -> int:
    """Put the unknown rows back to be sent again (same Message-ID); a sent mailing goes back to sending.

    Returns how many rows were put back; the caller wakes the senders.
    """
    if not _move(mailing_id, (MailingStatus.SENDING, MailingStatus.PAUSED, MailingStatus.SENT)):
        db.session.rollback()
        raise InvalidTransition("only a mailing that is sending, paused or sent can resend its unknown messages")
    count = deliveries.resend_unknown(mailing_id)
    if count:
        _move(mailing_id, (MailingStatus.SENT,), status=MailingStatus.SENDING, finished_at=None)
    db.session.commit()
    log.info("mailing %s: %s unknown messages put back to be sent again", mailing_id, count)
    return count


def cancel(mailing_id: int) -> None:
    """Cancel before or during sending; rows not yet sent stay unsent."""
    if not _transition(mailing_id, CANCELLABLE, status=MailingStatus.CANCELLED, finished_at=clock.utcnow()):
        raise InvalidTransition("this mailing can no longer be cancelled")
    # Its reminders would go only to whoever it reached before the cancel: they go too.
    _cancel_waiting_reminders(mailing_id)
    db.session.commit()


def finish_if_done(mailing_id: int) -> bool:
    """Mark sent only when the whole audience is in the ledger and no row is pending, claimed or retrying."""
    if not audience_complete(mailing_id) or deliveries.has_open_rows(mailing_id):
        return False
    finished = _move(mailing_id, (MailingStatus.SENDING,), status=MailingStatus.SENT, finished_at=clock.utcnow())
    if finished:
        webhook_events.mailing_sent(mailing_id)  # in the same transaction: queued only once it commits
    db.session.commit()
    if finished:
        _log_what_was_sent(mailing_id)
    return finished


def _log_what_was_sent(mailing_id: int) -> None:
    """The worker log's line for a finished mailing: its kind, subject and what its ledger says."""
    mailing = db.session.get(Mailing, mailing_id)
    counts = dict(db.session.execute(
        select(Delivery.status, func.count()).where(Delivery.mailing_id == mailing_id).group_by(Delivery.status)).all())
    log.info("mailing %s (%s, %r) finished: %s", mailing_id, mailing.kind, mailing.display_subject,
             ", ".join(f"{counts[status]} {status}" for status in sorted(counts)) or "no recipients")


def sending_mailing_ids() -> list[int]:
    """Return mailings currently sending."""
    return list(db.session.scalars(select(Mailing.id).where(Mailing.status == MailingStatus.SENDING)))


# Built once: a sending worker asks after every group of messages whether to go on, and
# building the query each time was half of what asking cost it (docs/PERFORMANCE.md).
_STATUS = select(Mailing.status).where(Mailing.id == bindparam("mailing_id"))


def status_of(mailing_id: int) -> str | None:
    """Read the current status straight from the database (not the session's cache)."""
    return db.session.scalar(_STATUS, {"mailing_id": mailing_id})
