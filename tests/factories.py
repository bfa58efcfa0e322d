"""create_* helpers: the one place tests make subscribers, events and mailings. Call them inside an app context."""
from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import insert, select

from mailer.extensions import db
from mailer.models import (
    Mailing,
    MailingStatus,
    Subscriber,
    SubscriberStatus,
    Subscription,
    SubscriptionStatus,
    Topic,
)
from mailer.models.subscriber import new_public_id, new_token_secret
from mailer.models.types import utcnow
from tests.clock import NOW

_UNSET: Any = object()


def create_subscribers(count: int, topic_slug: str = "newsletter", *, language: str = "da",
                       prefix: str = "reader", status: SubscriberStatus = SubscriberStatus.CONFIRMED) -> list[int]:
    """Insert `count` subscribers of one topic in bulk; return their ids. Call inside an app context."""
    topic_id = db.session.scalar(select(Topic.id).filter_by(slug=topic_slug))
    now = utcnow()
    rows = [
        {"public_id": new_public_id(), "token_secret": new_token_secret(), "email": f"{prefix}{i}@example.org",
         "name": f"Læser {i}" if i % 2 else None, "language": language, "status": status, "created_at": now,
         "confirmed_at": now}
        for i in range(count)
    ]
    ids = list(db.session.scalars(insert(Subscriber).returning(Subscriber.id), rows))
    subscription_status = SubscriptionStatus.CONFIRMED if status == SubscriberStatus.CONFIRMED else SubscriptionStatus.UNCONFIRMED
    db.session.execute(insert(Subscription), [
        {"subscriber_id": i, "topic_id": topic_id, "status": subscription_status, "created_at": now, "updated_at": now}
        for i in ids
    ])
    db.session.commit()
    return ids


def create_mailing(*topic_slugs: str, audience_language: str | None = None, subject: str = "Ny workshop i Aarhus",
                   body: str = "Kom til **workshop** om normer og privilegier.\n\n[Tilmeld dig](https://example.org/tilmeld)",
                   status: MailingStatus = MailingStatus.DRAFT, subject_en: str = "", body_en: str = "",
                   preheader_en: str = "") -> int:
    """Create a mailing for the given topics (default: the newsletter); return its id.

    `subject` and `body` are the Danish version; the English one is empty (it falls back to the
    Danish) unless `subject_en` / `body_en` are given. `audience_language` is the optional filter.
    """
    topics = list(db.session.scalars(select(Topic).where(Topic.slug.in_(topic_slugs or ("newsletter",)))))
    mailing = Mailing(subject_da=subject, preheader_da="Workshop den 19. september", body_markdown_da=body,
                      subject_en=subject_en, preheader_en=preheader_en, body_markdown_en=body_en,
                      audience_language=audience_language, status=status, topics=topics)
    db.session.add(mailing)
    db.session.commit()
    return mailing.id


def create_subscriber(email: str, *topic_slugs: str, status: SubscriberStatus = SubscriberStatus.CONFIRMED,
                      language: str = "da", name: str | None = None, frequency: str | None = None,
                      paused_until: datetime | None = None) -> int:
    """One subscriber of the given topics (default: the newsletter), confirmed unless told otherwise; return the id.

    `frequency` defaults to the model's (announcements only).
    """
    subscriber = Subscriber(email=email, name=name, language=language, status=status, paused_until=paused_until)
    if frequency is not None:
        subscriber.frequency = frequency
    confirmed = status == SubscriberStatus.CONFIRMED
    for slug in topic_slugs or ("newsletter",):
        topic_id = db.session.scalar(select(Topic.id).filter_by(slug=slug))
        subscriber.subscriptions.append(Subscription(
            topic_id=topic_id, status=SubscriptionStatus.CONFIRMED if confirmed else SubscriptionStatus.UNCONFIRMED))
    db.session.add(subscriber)
    db.session.commit()
    return subscriber.id


def create_subscriber_tokens(email: str, *, confirmed: bool, language: str, topic_slug: str = "newsletter") -> dict:
    """Create one subscriber of a topic (confirmed or pending); return a token of every purpose for them."""
    from mailer.tokens import TokenPurpose, make_token

    subscriber_id = create_subscriber(email, topic_slug, language=language,
                                      status=SubscriberStatus.CONFIRMED if confirmed else SubscriberStatus.PENDING)
    subscriber = db.session.get(Subscriber, subscriber_id)
    return {purpose: make_token(purpose, subscriber) for purpose in TokenPurpose}


def create_event(title: str = "Workshop i Aarhus", *topic_slugs: str, starts_at: datetime | None = None,
                 ends_at: datetime | None = _UNSET, starts_in: timedelta = timedelta(days=7), hours: float = 3,
                 now: datetime = NOW, created_at: datetime | None = None, language: str = "da", **values) -> int:
    """Create an event through the service, validated as staff input is; return its id.

    It starts at `starts_at`, else `starts_in` after `now`; it ends at `ends_at` (None: no end time), else
    `hours` after the start. Its topics are named by slug, or by id with `topic_ids=[...]`; the city is Aarhus
    unless told otherwise. `created_at` backdates when it went on the events page (the digest asks).
    `title`, and `description_markdown` and `venue` when given, are the event's text in `language`
    (the other language's version stays empty unless given as title_en=…, venue_en=… and so on).
    Any other keyword is a field of mailer.events.service.EventData.
    """
    from mailer.events.service import EventData
    from mailer.events.service import create_event as add_event

    if topic_slugs:
        values["topic_ids"] = list(db.session.scalars(select(Topic.id).where(Topic.slug.in_(topic_slugs))))
    if starts_at is None:
        starts_at = now + starts_in
    if ends_at is _UNSET:
        ends_at = starts_at + timedelta(hours=hours)
    values.setdefault("city", "Aarhus")
    values.setdefault(f"title_{language}", title)
    for name in ("description_markdown", "venue"):
        if name in values:
            values[f"{name}_{language}"] = values.pop(name)
    event = add_event(EventData(starts_at=starts_at, ends_at=ends_at, **values))
    if created_at is not None:
        event.created_at = created_at
    db.session.commit()
    return event.id
