"""Helpers for the digest tests: subscribers who chose a frequency, events born at a chosen time."""
from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select

from mailer.events.service import EventData, create_event
from mailer.extensions import db
from mailer.models import Delivery, Event, Subscriber, SubscriberStatus, Subscription, SubscriptionStatus, Topic



def add_subscriber(email: str, *topic_slugs: str, frequency: str = "digest", language: str = "da",
                   name: str | None = None, paused_until: datetime | None = None,
                   status: SubscriberStatus = SubscriberStatus.CONFIRMED) -> int:
    """A subscriber of the given topics (confirmed unless told otherwise); return the id. Call in an app context."""
    subscriber = Subscriber(email=email, name=name, language=language, status=status, frequency=frequency,
                            paused_until=paused_until)
    confirmed = status == SubscriberStatus.CONFIRMED
    for slug in topic_slugs or ("events-copenhagen",):
        topic_id = db.session.scalar(select(Topic.id).filter_by(slug=slug))
        subscriber.subscriptions.append(Subscription(
            topic_id=topic_id, status=SubscriptionStatus.CONFIRMED if confirmed else SubscriptionStatus.UNCONFIRMED))
    db.session.add(subscriber)
    db.session.commit()
    return subscriber.id


def add_event(title: str, *topic_slugs: str, created: datetime, starts: datetime, hours: float = 2, **values) -> int:
    """An event of the given topics, created (put on the events page) at `created`; return its id."""
    topic_ids = list(db.session.scalars(select(Topic.id).where(Topic.slug.in_(topic_slugs or ("events-copenhagen",)))))
    values.setdefault("venue", "Literaturhaus")
    values.setdefault("city", "København")
    event = create_event(EventData(title=title, starts_at=starts, ends_at=starts + timedelta(hours=hours),
                                   topic_ids=topic_ids, **values))
    event.created_at = created
    db.session.commit()
    return event.id


def digest_rows(mailing_id: int) -> dict[str, str]:
    """The digest's ledger: each recipient's address and delivery status."""
    return dict(db.session.execute(
        select(Subscriber.email, Delivery.status).join(Delivery, Delivery.subscriber_id == Subscriber.id)
        .where(Delivery.mailing_id == mailing_id)).all())


def event_title(event_id: int) -> str:
    return db.session.get(Event, event_id).title
