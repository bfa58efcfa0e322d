"""Claim delivery rows under a lease and record outcomes in bulk: the ledger is the truth."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import and_, bindparam, func, or_, select, text, update

from mailer.extensions import db
from mailer.models import Delivery, DeliveryStatus, Subscriber
from mailer import clock
from mailer.sending.sql import in_ids, on_postgresql

OPEN_STATUSES = (DeliveryStatus.PENDING, DeliveryStatus.CLAIMED)


@dataclass(frozen=True)
class Recipient:
    delivery_id: int
    subscriber_id: int
    email: str
    name: str | None
    language: str
    public_id: str
    token_secret: str
    attempts: int
    payload: str | None = None  # per-recipient content chosen at snapshot time (a digest's events)


@dataclass(frozen=True)
class DeliveryOutcome:
    """What happened to one claimed row; status is a DeliveryStatus."""

    delivery_id: int
    status: DeliveryStatus
    message_id: str | None = None
    reply: str | None = None
    error: str | None = None
    retry_at: datetime | None = None


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
        .values(status=DeliveryStatus.CLAIMED, claimed_by=worker, attempts=Delivery.attempts + 1,
                lease_expires_at=now + timedelta(seconds=lease_seconds))
        .returning(Delivery.id, Delivery.subscriber_id, Delivery.attempts, Delivery.payload)
        .execution_options(synchronize_session=False)
    ).all()


def claim_batch(mailing_id: int, worker: str, size: int, lease_seconds: float) -> list[Recipient]:
    """Lease up to `size` sendable rows to this worker and return their recipients.

    On PostgreSQL, FOR UPDATE SKIP LOCKED lets any number of workers claim side by side
    without waiting on each other; SQLite serialises writers, which is correct too.
    Pending rows and expired leases are claimed by two statements, each an ordered walk
    of ix_delivery_claimable: one "pending OR expired" condition cannot use that index in
    id order and took half a second per claim once 850k rows were sent (docs/PERFORMANCE.md).
    """
    now = clock.utcnow()
    claimed = _claim(_due_pending(mailing_id, now), worker, size, now, lease_seconds)
    if len(claimed) < size:
        claimed += _claim(_expired_lease(mailing_id, now), worker, size - len(claimed), now, lease_seconds)
    db.session.commit()
    if not claimed:
        return []
    by_subscriber = {subscriber_id: (delivery_id, attempts, payload)
                     for delivery_id, subscriber_id, attempts, payload in claimed}
    rows = db.session.execute(
        select(Subscriber.id, Subscriber.email, Subscriber.name, Subscriber.language,
               Subscriber.public_id, Subscriber.token_secret)
        .where(in_ids(Subscriber.id, list(by_subscriber)))
        .order_by(Subscriber.id)
    ).all()
    return [
        Recipient(by_subscriber[r.id][0], r.id, r.email, r.name, r.language, r.public_id, r.token_secret,
                  by_subscriber[r.id][1], by_subscriber[r.id][2])
        for r in rows
    ]


_FINALS_FROM_ARRAYS = text("""
UPDATE delivery SET status = v.status, message_id = v.message_id, smtp_reply = v.reply, last_error = v.error,
       sent_at = CASE WHEN v.status = 'sent' THEN CAST(:now AS timestamptz) END, lease_expires_at = NULL
FROM unnest(CAST(:ids AS integer[]), CAST(:statuses AS varchar[]), CAST(:message_ids AS varchar[]),
            CAST(:replies AS varchar[]), CAST(:errors AS varchar[])) AS v(id, status, message_id, reply, error)
WHERE delivery.id = v.id
""")


def record_outcomes(outcomes: list[DeliveryOutcome]) -> None:
    """Write a group of outcomes with one executemany per kind, then commit."""
    if not outcomes:
        return
    now = clock.utcnow()
    finals = [o for o in outcomes if o.retry_at is None]
    retries = [o for o in outcomes if o.retry_at is not None]
    table = Delivery.__table__
    if finals and on_postgresql():
        # One statement for the whole group: an executemany of 50 single-row UPDATEs made
        # PostgreSQL parse and plan 50 statements, its biggest cost per message (docs/PERFORMANCE.md).
        db.session.execute(_FINALS_FROM_ARRAYS, {
            "now": now,
            "ids": [o.delivery_id for o in finals],
            "statuses": [o.status.value for o in finals],
            "message_ids": [o.message_id for o in finals],
            "replies": [(o.reply or None) and o.reply[:500] for o in finals],
            "errors": [(o.error or None) and o.error[:500] for o in finals],
        })
    elif finals:
        db.session.execute(
            update(table).where(table.c.id == bindparam("b_id")).values(
                status=bindparam("b_status"), message_id=bindparam("b_message_id"), smtp_reply=bindparam("b_reply"),
                last_error=bindparam("b_error"), sent_at=bindparam("b_sent_at"), lease_expires_at=None),
            [{"b_id": o.delivery_id, "b_status": o.status.value, "b_message_id": o.message_id,
              "b_reply": (o.reply or None) and o.reply[:500], "b_error": (o.error or None) and o.error[:500],
              "b_sent_at": now if o.status == DeliveryStatus.SENT else None} for o in finals],
        )
    if retries:
        db.session.execute(
            update(table).where(table.c.id == bindparam("b_id")).values(
                status=DeliveryStatus.PENDING.value, last_error=bindparam("b_error"),
                next_attempt_at=bindparam("b_retry_at"), lease_expires_at=None),
            [{"b_id": o.delivery_id, "b_error": (o.error or "")[:500], "b_retry_at": o.retry_at} for o in retries],
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


def release_claims(delivery_ids: list[int]) -> None:
    """Hand unsent claimed rows back to the pool at once (pause, cancel, shutdown)."""
    if delivery_ids:
        db.session.execute(
            update(Delivery)
            .where(Delivery.id.in_(delivery_ids), Delivery.status == DeliveryStatus.CLAIMED)
            .values(status=DeliveryStatus.PENDING, lease_expires_at=None, attempts=Delivery.attempts - 1)
            .execution_options(synchronize_session=False)
        )
        db.session.commit()


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
