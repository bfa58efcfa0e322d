"""Claim delivery rows under a lease and record outcomes in bulk: the ledger is the truth."""
from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import NamedTuple

from sqlalchemy import and_, bindparam, func, or_, select, text, update

from mailer.extensions import db
from mailer.models import Delivery, DeliveryStatus, Subscriber
from mailer import clock
from mailer.sending.sql import in_ids, on_postgresql

OPEN_STATUSES = (DeliveryStatus.PENDING, DeliveryStatus.CLAIMED)


class Recipient(NamedTuple):
    """One claimed delivery and what its mail needs to know of the reader.

    A NamedTuple, not a dataclass: a worker makes one per message, and a frozen dataclass took
    1.4 µs to make against 0.3 µs (docs/PERFORMANCE.md)."""

    delivery_id: int
    subscriber_id: int
    email: str
    name: str | None
    language: str
    public_id: str
    token_secret: str
    attempts: int
    payload: str | None = None  # per-recipient content chosen at snapshot time (a digest's events)
    uncertain: int = 0          # earlier hand-offs whose reply was lost after the final dot
    message_id: str | None = None  # the Message-ID an earlier try used, kept for every resend
    frequency: str | None = None   # what the reader chose (every announcement, digest, both): the footer says it


class DeliveryOutcome(NamedTuple):
    """What happened to one claimed row; status is a DeliveryStatus. One per message, so a NamedTuple too."""

    delivery_id: int
    status: DeliveryStatus
    message_id: str | None = None
    reply: str | None = None
    error: str | None = None
    retry_at: datetime | None = None
    tried: bool = True        # an SMTP try went out on the wire: attempts counts it
    uncertain: bool = False   # the reply was lost after the final dot


def _due_pending(mailing_id: int, now: datetime):
    return and_(Delivery.mailing_id == mailing_id, Delivery.status == DeliveryStatus.PENDING,
                or_(Delivery.next_attempt_at.is_(None), Delivery.next_attempt_at <= now))


def _expired_lease(mailing_id: int, now: datetime):
    # A dead worker's lease has run out: its rows go back to the pool.
    return and_(Delivery.mailing_id == mailing_id, Delivery.status == DeliveryStatus.CLAIMED,
                Delivery.lease_expires_at < now)


def _claim(condition, worker: str, size: int, now: datetime, lease_seconds: float) -> list:
    candidates = (
        select(Delivery.id).where(condition).order_by(Delivery.id).limit(size).with_for_update(skip_locked=True)
    )
    return db.session.execute(
        update(Delivery)
        .where(Delivery.id.in_(candidates.scalar_subquery()))
        .values(status=DeliveryStatus.CLAIMED, claimed_by=worker, claims=Delivery.claims + 1,
                lease_expires_at=now + timedelta(seconds=lease_seconds))
        .returning(Delivery.id, Delivery.subscriber_id, Delivery.attempts, Delivery.payload, Delivery.uncertain,
                   Delivery.message_id)
        .execution_options(synchronize_session=False)
    ).all()


def claim_batch(mailing_id: int, worker: str, size: int, lease_seconds: float) -> list[Recipient]:
    """Lease up to `size` sendable rows to this worker and return their recipients.

    On PostgreSQL, FOR UPDATE SKIP LOCKED lets any number of workers claim side by side
    without waiting on each other; SQLite serialises writers, which is correct too.
    Pending rows and expired leases are claimed by two statements, each an ordered walk
    of ix_delivery_claimable: one "pending OR expired" condition cannot use that index in
    id order and took half a second per claim once 850k rows were sent (docs/PERFORMANCE.md).

    The recipients are read in the claiming transaction, before the commit: a connection lost
    before the commit leaves nothing claimed. If it is lost during the commit, the caller does
    not know whether the claim holds; `release_held` hands back whatever this worker holds.
    """
    now = clock.utcnow()
    claimed = _claim(_due_pending(mailing_id, now), worker, size, now, lease_seconds)
    if len(claimed) < size:
        claimed += _claim(_expired_lease(mailing_id, now), worker, size - len(claimed), now, lease_seconds)
    if not claimed:
        db.session.commit()
        return []
    by_subscriber = {row[1]: row for row in claimed}
    rows = db.session.execute(
        select(Subscriber.id, Subscriber.email, Subscriber.name, Subscriber.language,
               Subscriber.public_id, Subscriber.token_secret, Subscriber.frequency)
        .where(in_ids(Subscriber.id, list(by_subscriber)))
        .order_by(Subscriber.id)
    ).all()
    db.session.commit()
    recipients = []
    for subscriber_id, email, name, language, public_id, token_secret, frequency in rows:
        delivery_id, _, attempts, payload, uncertain, message_id = by_subscriber[subscriber_id]
        recipients.append(Recipient(delivery_id, subscriber_id, email, name, language, public_id, token_secret,
                                    attempts, payload, uncertain, message_id, frequency))
    return recipients


# Only rows still claimed are written: writing a group again after a lost connection (the
# first write may have committed) then changes nothing and counts no attempt twice.
_FINALS_FROM_JSON = text("""
UPDATE delivery SET status = v.status, message_id = v.message_id, smtp_reply = v.reply, last_error = v.error,
       sent_at = CASE WHEN v.status = 'sent' THEN CAST(:now AS timestamptz) END, lease_expires_at = NULL,
       attempts = delivery.attempts + v.tried, uncertain = delivery.uncertain + v.uncertain
FROM jsonb_to_recordset(CAST(:rows AS jsonb))
     AS v(id integer, status varchar, message_id varchar, reply varchar, error varchar, tried integer, uncertain integer)
WHERE delivery.id = v.id AND delivery.status = 'claimed'
""")


def _cut(value: str | None) -> str | None:
    """A server's words as the ledger keeps them: at most 500 characters, and no NUL, which
    PostgreSQL text cannot hold (a relay that sent one made every write of its group fail)."""
    return (value or None) and value.replace("\x00", "")[:500]


def record_outcomes(outcomes: list[DeliveryOutcome]) -> None:
    """Write a group of outcomes with one statement per kind, then commit.

    Only rows still claimed change, so writing the same outcomes twice is harmless.
    """
    if not outcomes:
        return
    now = clock.utcnow()
    finals = [o for o in outcomes if o.retry_at is None]
    retries = [o for o in outcomes if o.retry_at is not None]
    table = Delivery.__table__
    claimed = table.c.status == DeliveryStatus.CLAIMED.value
    if finals and on_postgresql():
        # One statement for the whole group: an executemany of 50 single-row UPDATEs made
        # PostgreSQL parse and plan 50 statements, its biggest cost per message. The rows go as
        # one JSON text: psycopg dumps seven arrays element by element in Python, which took
        # 14 µs of worker CPU a message against 8 µs for json.dumps (docs/PERFORMANCE.md).
        db.session.execute(_FINALS_FROM_JSON, {"now": now, "rows": json.dumps([
            {"id": o.delivery_id, "status": o.status.value, "message_id": o.message_id, "reply": _cut(o.reply),
             "error": _cut(o.error), "tried": int(o.tried), "uncertain": int(o.uncertain)} for o in finals])})
    elif finals:
        db.session.execute(
            update(table).where(table.c.id == bindparam("b_id"), claimed).values(
                status=bindparam("b_status"), message_id=bindparam("b_message_id"), smtp_reply=bindparam("b_reply"),
                last_error=bindparam("b_error"), sent_at=bindparam("b_sent_at"), lease_expires_at=None,
                attempts=table.c.attempts + bindparam("b_tried"), uncertain=table.c.uncertain + bindparam("b_uncertain")),
            [{"b_id": o.delivery_id, "b_status": o.status.value, "b_message_id": o.message_id,
              "b_reply": _cut(o.reply), "b_error": _cut(o.error),
              "b_sent_at": now if o.status == DeliveryStatus.SENT else None,
              "b_tried": int(o.tried), "b_uncertain": int(o.uncertain)} for o in finals],
        )
    if retries:
        db.session.execute(
            update(table).where(table.c.id == bindparam("b_id"), claimed).values(
                status=DeliveryStatus.PENDING.value, last_error=bindparam("b_error"), message_id=bindparam("b_message_id"),
                next_attempt_at=bindparam("b_retry_at"), lease_expires_at=None,
                attempts=table.c.attempts + bindparam("b_tried"), uncertain=table.c.uncertain + bindparam("b_uncertain")),
            [{"b_id": o.delivery_id, "b_error": _cut(o.error) or "", "b_retry_at": o.retry_at,
              "b_message_id": o.message_id, "b_tried": int(o.tried), "b_uncertain": int(o.uncertain)}
             for o in retries],
        )
    db.session.commit()


def renew_lease(delivery_ids: list[int], worker: str, lease_seconds: float) -> None:
    """Extend this worker's lease on rows it still holds (a slow, rate-limited batch)."""
    if delivery_ids:
        db.session.execute(
            update(Delivery)
            .where(Delivery.id.in_(delivery_ids), Delivery.status == DeliveryStatus.CLAIMED,
                   Delivery.claimed_by == worker)
            .values(lease_expires_at=clock.utcnow() + timedelta(seconds=lease_seconds))
            .execution_options(synchronize_session=False)
        )
        db.session.commit()


def release_claims(delivery_ids: list[int], retry_at: datetime | None = None) -> None:
    """Hand unsent claimed rows back to the pool at once (pause, cancel, relay outage); no attempt is charged."""
    if delivery_ids:
        db.session.execute(
            update(Delivery)
            .where(Delivery.id.in_(delivery_ids), Delivery.status == DeliveryStatus.CLAIMED)
            .values(status=DeliveryStatus.PENDING, lease_expires_at=None, next_attempt_at=retry_at)
            .execution_options(synchronize_session=False)
        )
        db.session.commit()


def release_held(mailing_id: int, worker: str) -> int:
    """Hand back every row this worker (one run's claim name) still holds: after a claim whose commit was lost."""
    result = db.session.execute(
        update(Delivery)
        .where(Delivery.mailing_id == mailing_id, Delivery.status == DeliveryStatus.CLAIMED,
               Delivery.claimed_by == worker)
        .values(status=DeliveryStatus.PENDING, lease_expires_at=None)
        .execution_options(synchronize_session=False)
    )
    db.session.commit()
    return result.rowcount


def resend_unknown(mailing_id: int) -> int:
    """Put the mailing's unknown rows back in the pool (staff asked); return how many."""
    result = db.session.execute(
        update(Delivery)
        .where(Delivery.mailing_id == mailing_id, Delivery.status == DeliveryStatus.UNKNOWN)
        .values(status=DeliveryStatus.PENDING, next_attempt_at=None, lease_expires_at=None)
        .execution_options(synchronize_session=False)
    )
    return result.rowcount


def status_counts(mailing_id: int) -> dict[str, int]:
    """Count the ledger rows of a mailing by status (one indexed GROUP BY)."""
    rows = db.session.execute(
        select(Delivery.status, func.count()).where(Delivery.mailing_id == mailing_id).group_by(Delivery.status)
    ).all()
    counts = {status.value: 0 for status in DeliveryStatus}
    counts.update({status: count for status, count in rows})
    return counts


def has_claimable_rows(mailing_id: int) -> bool:
    """Return True if some row could be claimed now."""
    now = clock.utcnow()
    return any(db.session.scalar(select(Delivery.id).where(condition).limit(1)) is not None
               for condition in (_due_pending(mailing_id, now), _expired_lease(mailing_id, now)))


def has_open_rows(mailing_id: int) -> bool:
    """Return True while some row is pending, retrying or claimed."""
    query = select(Delivery.id).where(Delivery.mailing_id == mailing_id, Delivery.status.in_(OPEN_STATUSES))
    return db.session.scalar(query.limit(1)) is not None
