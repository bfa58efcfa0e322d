"""create_* helpers for the models the sending tests need."""
from __future__ import annotations

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


def create_mailing(*topic_slugs: str, language: str | None = None, subject: str = "Ny workshop i Aarhus",
                        body: str = "Kom til **workshop** om normer og privilegier.\n\n[Tilmeld dig](https://example.org/tilmeld)",
                        status: MailingStatus = MailingStatus.DRAFT) -> int:
    """Create a mailing for the given topics (default: the newsletter); return its id."""
    topics = list(db.session.scalars(select(Topic).where(Topic.slug.in_(topic_slugs or ("newsletter",)))))
    mailing = Mailing(subject=subject, preheader="Workshop den 19. september", body_markdown=body,
                                language=language, status=status, topics=topics)
    db.session.add(mailing)
    db.session.commit()
    return mailing.id


def create_subscriber_tokens(email: str, *, confirmed: bool, language: str, topic_slug: str = "newsletter") -> dict:
    """Create one subscriber of a topic (confirmed or pending); return a token of every purpose for them."""
    from mailer.tokens import TokenPurpose, make_token

    topic_id = db.session.scalar(select(Topic.id).filter_by(slug=topic_slug))
    subscriber = Subscriber(email=email, language=language,
                            status=SubscriberStatus.CONFIRMED if confirmed else SubscriberStatus.PENDING)
    subscriber.subscriptions.append(Subscription(
        topic_id=topic_id, status=SubscriptionStatus.CONFIRMED if confirmed else SubscriptionStatus.UNCONFIRMED))
    db.session.add(subscriber)
    db.session.commit()
    return {purpose: make_token(purpose, subscriber) for purpose in TokenPurpose}
