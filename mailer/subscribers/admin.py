"""Queries behind the staff subscriber pages: search, counts, the ledger and the CSV export."""
from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime

from sqlalchemy import exists, func, select
from sqlalchemy.orm import selectinload

from mailer.extensions import db
from mailer.models import ConsentEvent, Subscriber, SubscriberStatus, Subscription, SubscriptionStatus, Topic

EXPORT_COLUMNS = (
    "email", "name", "language", "status", "topics", "created_at", "confirmed_at", "frequency", "paused_until",
)
ACTIVE_SUBSCRIPTIONS = (SubscriptionStatus.CONFIRMED, SubscriptionStatus.UNCONFIRMED)


def search_subscribers(
    query: str | None, status: str | None, topic_id: int | None, page: int, per_page: int = 50
) -> tuple[list[Subscriber], int]:
    """Return one page of subscribers matching the filters, newest first, and the total that match.

    `query` matches part of the address or the name, whatever its case; `topic_id` keeps
    subscribers with a confirmed or unconfirmed subscription to that topic.
    """
    if status is not None and status not in set(SubscriberStatus):
        raise ValueError(f"unknown subscriber status {status!r}")
    conditions = []
    if query and query.strip():
        needle = query.strip().lower()
        conditions.append(
            func.lower(Subscriber.email).contains(needle, autoescape=True)
            | func.lower(func.coalesce(Subscriber.name, "")).contains(needle, autoescape=True)
        )
    if status:
        conditions.append(Subscriber.status == status)
    if topic_id is not None:
        conditions.append(
            exists().where(
                Subscription.subscriber_id == Subscriber.id,
                Subscription.topic_id == topic_id,
                Subscription.status.in_(ACTIVE_SUBSCRIPTIONS),
            )
        )
    total = db.session.scalar(select(func.count(Subscriber.id)).where(*conditions)) or 0
    rows = db.session.scalars(
        select(Subscriber)
        .where(*conditions)
        .options(selectinload(Subscriber.subscriptions))
        .order_by(Subscriber.id.desc())
        .limit(per_page)
        .offset((max(page, 1) - 1) * per_page)
    ).all()
    return list(rows), total


def counts_by_status() -> dict[str, int]:
    """Return how many subscribers have each status (every status present, zero included)."""
    counts = {status.value: 0 for status in SubscriberStatus}
    for status, count in db.session.execute(select(Subscriber.status, func.count()).group_by(Subscriber.status)):
        counts[status] = count
    return counts


def counts_by_topic() -> list[tuple[Topic, int, int]]:
    """Return (topic, confirmed, unconfirmed) subscription counts for every topic, in display order."""
    counts: dict[tuple[int, str], int] = {
        (topic_id, status): count
        for topic_id, status, count in db.session.execute(
            select(Subscription.topic_id, Subscription.status, func.count())
            .where(Subscription.status.in_(ACTIVE_SUBSCRIPTIONS))
            .group_by(Subscription.topic_id, Subscription.status)
        )
    }
    topics = db.session.scalars(select(Topic).order_by(Topic.position, Topic.id))
    return [
        (
            topic,
            counts.get((topic.id, SubscriptionStatus.CONFIRMED), 0),
            counts.get((topic.id, SubscriptionStatus.UNCONFIRMED), 0),
        )
        for topic in topics
    ]


def subscriber_ledger(subscriber_id: int) -> list[ConsentEvent]:
    """Return a subscriber's consent ledger, oldest first."""
    return list(
        db.session.scalars(
            select(ConsentEvent)
            .where(ConsentEvent.subscriber_id == subscriber_id)
            .order_by(ConsentEvent.created_at, ConsentEvent.id)
        )
    )


def _iso(value: datetime | None) -> str:
    return value.isoformat() if value else ""


def export_rows(batch_size: int = 1000) -> Iterator[tuple[str, ...]]:
    """Yield every subscriber as a row of EXPORT_COLUMNS, in keyset batches (`id > last_id`)."""
    slugs = dict(db.session.execute(select(Topic.id, Topic.slug)).all())
    last_id = 0
    while True:
        batch = db.session.execute(
            select(
                Subscriber.id, Subscriber.email, Subscriber.name, Subscriber.language,
                Subscriber.status, Subscriber.created_at, Subscriber.confirmed_at,
                Subscriber.frequency, Subscriber.paused_until,
            )
            .where(Subscriber.id > last_id)
            .order_by(Subscriber.id)
            .limit(batch_size)
        ).all()
        if not batch:
            return
        topics: dict[int, list[str]] = {}
        for subscriber_id, topic_id in db.session.execute(
            select(Subscription.subscriber_id, Subscription.topic_id)
            .where(
                Subscription.subscriber_id.in_([row.id for row in batch]),
                Subscription.status.in_(ACTIVE_SUBSCRIPTIONS),
            )
            .order_by(Subscription.subscriber_id, Subscription.topic_id)
        ):
            topics.setdefault(subscriber_id, []).append(slugs[topic_id])
        for row in batch:
            yield (
                row.email, row.name or "", row.language, row.status, ";".join(topics.get(row.id, [])),
                _iso(row.created_at), _iso(row.confirmed_at), row.frequency, _iso(row.paused_until),
            )
        last_id = batch[-1].id
