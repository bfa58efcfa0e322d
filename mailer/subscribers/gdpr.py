"""GDPR: hand a subscriber their data, and erase them leaving only a hashed tombstone."""
from __future__ import annotations

import hashlib
import logging
from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import delete, select

from mailer.extensions import db
from mailer.outbound_webhooks import events as webhook_events
from mailer.models import Mailing, ConsentEvent, Delivery, ErasedSubscriber, Subscriber, Subscription, Topic
from mailer.subscribers.admin import subscriber_ledger

log = logging.getLogger(__name__)


class SubscriberNotFound(LookupError):
    """No subscriber has this id."""


def email_hash(email: str) -> str:
    """Return the tombstone hash of an address: SHA-256 of the lower-cased address."""
    return hashlib.sha256(email.strip().lower().encode("utf-8")).hexdigest()


def is_erased(email: str) -> bool:
    """Return True if this address was erased at an admin's request."""
    return db.session.scalar(select(ErasedSubscriber.id).filter_by(email_hash=email_hash(email))) is not None


def erased_hashes(hashes: Iterable[str], chunk_size: int = 500) -> set[str]:
    """Return which of these tombstone hashes exist, looked up in chunks."""
    wanted = list(dict.fromkeys(hashes))
    found: set[str] = set()
    for start in range(0, len(wanted), chunk_size):
        chunk = wanted[start:start + chunk_size]
        found.update(db.session.scalars(select(ErasedSubscriber.email_hash).where(ErasedSubscriber.email_hash.in_(chunk))))
    return found


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def _load(subscriber_id: int, *, for_change: bool = False) -> Subscriber:
    subscriber = db.session.get(Subscriber, subscriber_id, with_for_update=for_change)
    if subscriber is None:
        raise SubscriberNotFound(subscriber_id)
    return subscriber


def export_subscriber(subscriber_id: int) -> dict:
    """Return everything we hold about a subscriber, as JSON-ready data."""
    subscriber = _load(subscriber_id)
    slugs = dict(db.session.execute(select(Topic.id, Topic.slug)).all())
    deliveries = db.session.execute(
        select(Delivery.mailing_id, Mailing.display_subject.label("subject"), Delivery.status, Delivery.sent_at, Delivery.message_id)
        .join(Mailing, Mailing.id == Delivery.mailing_id)
        .where(Delivery.subscriber_id == subscriber.id)
        .order_by(Delivery.id)
    ).all()
    return {
        "profile": {
            "email": subscriber.email,
            "name": subscriber.name,
            "language": subscriber.language,
            "status": subscriber.status,
            "created_at": _iso(subscriber.created_at),
            "confirmed_at": _iso(subscriber.confirmed_at),
            "link_requested_at": _iso(subscriber.link_requested_at),
            "link_sent_at": _iso(subscriber.link_sent_at),
            "welcome_sent_at": _iso(subscriber.welcome_sent_at),
            "frequency": subscriber.frequency,
            "paused_until": _iso(subscriber.paused_until),
        },
        "subscriptions": [
            {
                "topic": slugs.get(s.topic_id),
                "status": s.status,
                "created_at": _iso(s.created_at),
                "updated_at": _iso(s.updated_at),
            }
            for s in subscriber.subscriptions
        ],
        "consent_ledger": [
            {
                "at": _iso(event.created_at),
                "action": event.action,
                "channel": event.channel,
                "topic": slugs.get(event.topic_id) if event.topic_id else None,
                "consent_version": event.consent_version,
                "ip": event.ip,
                "user_agent": event.user_agent,
                "detail": event.detail,
            }
            for event in subscriber_ledger(subscriber.id)
        ],
        "deliveries": [
            {
                "mailing_id": row.mailing_id,
                "subject": row.subject,
                "status": row.status,
                "sent_at": _iso(row.sent_at),
                "message_id": row.message_id,
            }
            for row in deliveries
        ],
    }


def erase_subscriber(subscriber_id: int, staff_email: str) -> None:
    """Delete a subscriber and everything about them, keeping a hashed tombstone; the caller commits.

    The ledger is append-only for every other purpose: the ORM guard refuses deletes of
    consent events, so this one sanctioned erasure uses Core statements. The dependent rows
    are deleted explicitly, not left to ON DELETE CASCADE, because SQLite does not enforce
    foreign keys unless asked to.
    """
    subscriber = _load(subscriber_id, for_change=True)  # a change under way finishes first
    digest = email_hash(subscriber.email)
    if not db.session.scalar(select(ErasedSubscriber.id).filter_by(email_hash=digest)):
        db.session.add(ErasedSubscriber(email_hash=digest))
    public_id = subscriber.public_id
    db.session.expunge(subscriber)
    db.session.flush()
    webhook_events.forget_subscriber(public_id)
    for table in (Delivery.__table__, ConsentEvent.__table__, Subscription.__table__):
        db.session.execute(delete(table).where(table.c.subscriber_id == subscriber_id))
    db.session.execute(delete(Subscriber.__table__).where(Subscriber.__table__.c.id == subscriber_id))
    log.info("subscriber %s erased by staff %s", subscriber_id, staff_email)
