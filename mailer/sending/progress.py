"""How far a mailing has got, and who got it: cheap read-only queries for the staff pages."""
from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta

from sqlalchemy import func, select

from mailer.extensions import db
from mailer.models import Mailing, MailingStatus, Delivery, DeliveryStatus, Subscriber
from mailer import clock
from mailer.sending import deliveries

# The rate is measured over this many recent seconds (or since the start, if younger).
RATE_WINDOW_SECONDS = 30
# Below this the window is too short for a meaningful rate.
MIN_RATE_WINDOW_SECONDS = 1.0

# The outcomes that count as done; pending and claimed rows are still to come.
DONE_STATUSES = (
    DeliveryStatus.SENT,
    DeliveryStatus.FAILED,
    DeliveryStatus.BOUNCED,
    DeliveryStatus.UNKNOWN,
    DeliveryStatus.SKIPPED,
)
DELIVERY_STATUSES = tuple(status.value for status in DeliveryStatus)


class MailingNotFound(LookupError):
    """No mailing has this id."""


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def _send_rate(mailing_id: int, started_at: datetime | None, now: datetime) -> float:
    """Messages sent per second over the last RATE_WINDOW_SECONDS (one indexed COUNT)."""
    if started_at is None:
        return 0.0
    window = min(float(RATE_WINDOW_SECONDS), (now - started_at).total_seconds())
    window = max(window, MIN_RATE_WINDOW_SECONDS)
    since = now - timedelta(seconds=window)
    # sent_at is only ever set on sent rows; the status condition lets the
    # (mailing_id, status, id) index narrow the scan.
    recent = db.session.scalar(
        select(func.count()).select_from(Delivery).where(
            Delivery.mailing_id == mailing_id,
            Delivery.status == DeliveryStatus.SENT,
            Delivery.sent_at >= since,
        )
    )
    return (recent or 0) / window


def progress_of(mailing: Mailing, counts: Mapping[str, int], now: datetime | None = None) -> dict:
    """Build the progress of a loaded mailing from its ledger.status_counts."""
    now = now or clock.utcnow()
    total = sum(counts.values())
    pending = counts.get(DeliveryStatus.PENDING, 0) + counts.get(DeliveryStatus.CLAIMED, 0)
    done = total - pending
    sending = mailing.status == MailingStatus.SENDING
    # Only a sending mailing has a current rate; a paused or finished one sends nothing.
    rate = _send_rate(mailing.id, mailing.started_at, now) if sending else 0.0
    eta = round(pending / rate) if sending and pending and rate > 0 else None
    return {
        "id": mailing.id,
        "status": mailing.status,
        "status_reason": mailing.status_reason,
        "total": total,
        "sent": counts.get(DeliveryStatus.SENT, 0),
        "failed": counts.get(DeliveryStatus.FAILED, 0),
        "bounced": counts.get(DeliveryStatus.BOUNCED, 0),
        "unknown": counts.get(DeliveryStatus.UNKNOWN, 0),
        "skipped": counts.get(DeliveryStatus.SKIPPED, 0),
        "pending": pending,
        "percent": round(done / total * 100, 1) if total else 0.0,
        "rate": round(rate, 2),
        "eta_seconds": eta,
        "started_at": _iso(mailing.started_at),
        "finished_at": _iso(mailing.finished_at),
        # Set while the mail server cannot be reached: the senders wait and try again at relay_retry_at.
        "relay_down_since": _iso(mailing.relay_down_since),
        "relay_retry_at": _iso(mailing.relay_retry_at),
        "relay_error": mailing.relay_error,
        # The reason of the last automatic pause, kept after a resume.
        "auto_pause_reason": mailing.auto_pause_reason,
        # Started, found nobody in its audience, and so ended as cancelled with nothing sent (states.start).
        "no_audience": mailing.status == MailingStatus.CANCELLED and mailing.started_at is not None and not total,
        "scheduled_at": _iso(mailing.scheduled_at),
    }


def load_mailing(mailing_id: int) -> Mailing:
    """Read the mailing fresh from the database, or raise MailingNotFound."""
    mailing = db.session.scalar(
        select(Mailing).where(Mailing.id == mailing_id).execution_options(populate_existing=True)
    )
    if mailing is None:
        raise MailingNotFound(mailing_id)
    return mailing


def mailing_progress(mailing_id: int) -> dict:
    """Return counts by outcome, percent done, the current rate and an ETA.

    Three small queries: the mailing row, one GROUP BY on the ledger index
    and one COUNT of the recently sent rows. Raises MailingNotFound.
    """
    mailing = load_mailing(mailing_id)
    return progress_of(mailing, deliveries.status_counts(mailing_id))


def sent_and_total(mailing_ids: list[int]) -> dict[int, tuple[int, int]]:
    """For the mailings list: (sent, ledger rows) per mailing, in one GROUP BY; mailings without rows are left out."""
    if not mailing_ids:
        return {}
    sent = func.count().filter(Delivery.status == DeliveryStatus.SENT)
    rows = db.session.execute(
        select(Delivery.mailing_id, sent, func.count()).where(Delivery.mailing_id.in_(mailing_ids))
        .group_by(Delivery.mailing_id)).all()
    return {mailing_id: (sent_count, total) for mailing_id, sent_count, total in rows}


def delivery_page(mailing_id: int, status: str | None, page: int, per_page: int = 50) -> tuple[list, int]:
    """Return one page of the delivery ledger (with each recipient's address) and the number of rows.

    `status` filters on one DeliveryStatus value (None or "" for all); an unknown
    status or a page below 1 raises ValueError. Rows are ordered by id.
    """
    if status and status not in DELIVERY_STATUSES:
        raise ValueError(f"unknown delivery status: {status!r}")
    if page < 1 or per_page < 1:
        raise ValueError("page and per_page start at 1")
    conditions = [Delivery.mailing_id == mailing_id]
    if status:
        conditions.append(Delivery.status == status)
    total = db.session.scalar(select(func.count()).select_from(Delivery).where(*conditions)) or 0
    rows = db.session.execute(
        select(
            Delivery.id,
            Subscriber.email,
            Delivery.status,
            Delivery.attempts,
            Delivery.last_error,
            Delivery.smtp_reply,
            Delivery.message_id,
            Delivery.sent_at,
        )
        .join(Subscriber, Subscriber.id == Delivery.subscriber_id)
        .where(*conditions)
        .order_by(Delivery.id)
        .limit(per_page)
        .offset((page - 1) * per_page)
    ).all()
    return list(rows), total
