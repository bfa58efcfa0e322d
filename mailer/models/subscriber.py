"""Subscribers, topics and the subscriptions between them."""
from __future__ import annotations

import secrets
from datetime import datetime
from enum import StrEnum

from sqlalchemy import ForeignKey, Index, String, UniqueConstraint, and_, func, or_
from sqlalchemy.ext.hybrid import hybrid_property
from sqlalchemy.orm import Mapped, mapped_column, relationship

from mailer.extensions import db
from mailer.models.types import UTCDateTime, utcnow


class SubscriberStatus(StrEnum):
    PENDING = "pending"
    CONFIRMED = "confirmed"
    UNSUBSCRIBED = "unsubscribed"
    BOUNCED = "bounced"


class Frequency(StrEnum):
    """Which mailings a subscriber wants (a pause is separate: see Subscriber.paused_until)."""

    ANNOUNCEMENTS = "announcements"  # every announcement, no digest
    DIGEST = "digest"                # only the upcoming-events digest
    BOTH = "both"                    # every announcement and the digest


class SubscriptionStatus(StrEnum):
    UNCONFIRMED = "unconfirmed"
    CONFIRMED = "confirmed"
    UNSUBSCRIBED = "unsubscribed"


def new_public_id() -> str:
    return secrets.token_urlsafe(16)


def new_token_secret() -> str:
    return secrets.token_urlsafe(12)


class Topic(db.Model):
    """A list visitors can subscribe to, named in both languages."""

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(64), unique=True)
    name_da: Mapped[str] = mapped_column(String(120))
    name_en: Mapped[str] = mapped_column(String(120))
    description_da: Mapped[str] = mapped_column(String(500), default="")
    description_en: Mapped[str] = mapped_column(String(500), default="")
    # Private topics are not on the signup or manage form; staff can still add people and send to them.
    is_public: Mapped[bool] = mapped_column(default=True)
    position: Mapped[int] = mapped_column(default=0)
    # An archived topic is hidden from the public forms and gets no new mail; its history stays.
    archived_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    @property
    def archived(self) -> bool:
        return self.archived_at is not None

    def name(self, language: str) -> str:
        return self.name_da if language == "da" else self.name_en

    def description(self, language: str) -> str:
        return self.description_da if language == "da" else self.description_en


class Subscriber(db.Model):
    """One email address and its preferences."""

    id: Mapped[int] = mapped_column(primary_key=True)
    # Tokens carry this opaque id, never the address or the sequential primary key.
    public_id: Mapped[str] = mapped_column(String(32), unique=True, default=new_public_id)
    email: Mapped[str] = mapped_column(String(254))
    name: Mapped[str | None] = mapped_column(String(100))
    language: Mapped[str] = mapped_column(String(2), default="da")
    status: Mapped[str] = mapped_column(String(16), default=SubscriberStatus.PENDING, index=True)
    # Rotating this secret revokes every unsubscribe and manage link the subscriber holds.
    token_secret: Mapped[str] = mapped_column(String(32), default=new_token_secret)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    confirmed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # A link mail (opt-in or a fresh manage link) is queued at most once an hour per address;
    # a requested time later than the sent time means a mail is still owed.
    link_requested_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    link_sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    welcome_sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    frequency: Mapped[str] = mapped_column(String(16), default=Frequency.ANNOUNCEMENTS,
                                           server_default=Frequency.ANNOUNCEMENTS.value)
    # While this lies in the future the subscriber gets no mail; after it, mail resumes by itself.
    paused_until: Mapped[datetime | None] = mapped_column(UTCDateTime)

    subscriptions: Mapped[list[Subscription]] = relationship(
        back_populates="subscriber", cascade="all, delete-orphan", order_by="Subscription.topic_id"
    )

    @hybrid_property
    def link_mail_owed(self) -> bool:
        """A link mail was requested and has not gone out since: the one rule, in Python and in SQL."""
        return self.link_requested_at is not None and (
            self.link_sent_at is None or self.link_sent_at < self.link_requested_at)

    @link_mail_owed.inplace.expression
    @classmethod
    def _link_mail_owed_expression(cls):
        return and_(cls.link_requested_at.is_not(None),
                    or_(cls.link_sent_at.is_(None), cls.link_sent_at < cls.link_requested_at))

    def subscription_for(self, topic_id: int) -> Subscription | None:
        return next((s for s in self.subscriptions if s.topic_id == topic_id), None)

    def topic_ids(self, status: SubscriptionStatus) -> set[int]:
        return {s.topic_id for s in self.subscriptions if s.status == status}

    def __repr__(self) -> str:
        return f"<Subscriber {self.id} {self.status}>"


# Addresses are unique whatever their case; the address itself is kept as typed.
Index("uq_subscriber_email_lower", func.lower(Subscriber.email), unique=True)


class Subscription(db.Model):
    """A subscriber's membership of one topic, with its own status."""

    __table_args__ = (UniqueConstraint("subscriber_id", "topic_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    subscriber_id: Mapped[int] = mapped_column(ForeignKey("subscriber.id", ondelete="CASCADE"), index=True)
    topic_id: Mapped[int] = mapped_column(ForeignKey("topic.id", ondelete="CASCADE"), index=True)
    status: Mapped[str] = mapped_column(String(16), default=SubscriptionStatus.UNCONFIRMED)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    subscriber: Mapped[Subscriber] = relationship(back_populates="subscriptions")
    topic: Mapped[Topic] = relationship()
