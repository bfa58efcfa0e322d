"""Snapshot an announcement's audience into the delivery ledger with one INSERT ... SELECT."""
from __future__ import annotations

from sqlalchemy import and_, exists, literal, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from mailer.extensions import db
from mailer.models import (
    Announcement,
    Delivery,
    DeliveryStatus,
    Subscriber,
    SubscriberStatus,
    Subscription,
    SubscriptionStatus,
)
from mailer.models.announcement import announcement_topic


def eligible_subscribers(announcement_id: int):
    """Select the ids of confirmed subscribers of the announcement's topics and language."""
    chosen_topic = and_(
        Subscription.subscriber_id == Subscriber.id,
        Subscription.status == SubscriptionStatus.CONFIRMED,
        Subscription.topic_id == announcement_topic.c.topic_id,
        announcement_topic.c.announcement_id == announcement_id,
    )
    language = select(Announcement.language).where(Announcement.id == announcement_id).scalar_subquery()
    return select(Subscriber.id).where(
        Subscriber.status == SubscriberStatus.CONFIRMED,
        (language.is_(None)) | (Subscriber.language == language),
        exists().where(chosen_topic),
    )


def snapshot_audience(announcement_id: int) -> int:
    """Insert one pending delivery row per recipient; a second call adds nothing. Return rows added."""
    recipients = eligible_subscribers(announcement_id).subquery()
    dialect_insert = pg_insert if db.session.get_bind().dialect.name == "postgresql" else sqlite_insert
    statement = dialect_insert(Delivery).from_select(
        ["announcement_id", "subscriber_id", "status", "attempts"],
        select(literal(announcement_id), recipients.c.id, literal(DeliveryStatus.PENDING.value), literal(0)),
    )
    # UNIQUE (announcement, subscriber) makes a repeated snapshot a no-op.
    return db.session.execute(statement.on_conflict_do_nothing()).rowcount or 0


def still_subscribed(announcement_id: int, subscriber_ids: list[int]) -> set[int]:
    """Return which of these subscribers may still get the announcement (unsubscribes act at once)."""
    query = eligible_subscribers(announcement_id).where(Subscriber.id.in_(subscriber_ids))
    return set(db.session.scalars(query))
