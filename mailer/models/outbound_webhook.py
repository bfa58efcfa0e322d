"""Outgoing webhooks: the URLs admins registered, each event's delivery to one of them, and every try.

Not to be confused with the incoming bounce webhook (mailer/webhooks.py): these are requests we send.
"""
from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from mailer.extensions import db
from mailer.models.types import UTCDateTime, utcnow


class WebhookEvent(StrEnum):
    SUBSCRIBER_CONFIRMED = "subscriber.confirmed"
    SUBSCRIBER_UNSUBSCRIBED = "subscriber.unsubscribed"
    SUBSCRIBER_BOUNCED = "subscriber.bounced"
    MAILING_SENT = "mailing.sent"


class WebhookDeliveryStatus(StrEnum):
    PENDING = "pending"        # waiting for its first try or a retry (next_attempt_at)
    DELIVERED = "delivered"    # the receiver answered 2xx
    ABANDONED = "abandoned"    # its endpoint was disabled or deleted before it got through


class WebhookEndpoint(db.Model):
    """A URL that receives the events it subscribed to, signed with its own secret."""

    __tablename__ = "webhook_endpoint"

    id: Mapped[int] = mapped_column(primary_key=True)
    url: Mapped[str] = mapped_column(String(500))
    description: Mapped[str] = mapped_column(String(200), default="")
    events: Mapped[str] = mapped_column(String(200))  # WebhookEvent values, space-separated
    secret: Mapped[str] = mapped_column(String(64))   # the HMAC-SHA256 key; the receiver holds it too
    active: Mapped[bool] = mapped_column(default=True)
    # Failed tries in a row, over all its deliveries; a success resets it, WEBHOOK_DISABLE_AFTER disables.
    consecutive_failures: Mapped[int] = mapped_column(default=0)
    disabled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    disabled_reason: Mapped[str | None] = mapped_column(String(300))
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("staff_user.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    @staticmethod
    def parse_events(events: str) -> list[str]:
        """The event names the `events` column holds (space-separated)."""
        return events.split()

    def event_list(self) -> list[str]:
        return self.parse_events(self.events)


class WebhookDelivery(db.Model):
    """One event for one endpoint: retried until delivered or its endpoint is disabled."""

    __tablename__ = "webhook_delivery"

    id: Mapped[int] = mapped_column(primary_key=True)
    endpoint_id: Mapped[int] = mapped_column(ForeignKey("webhook_endpoint.id", ondelete="CASCADE"), index=True)
    event: Mapped[str] = mapped_column(String(40))
    event_id: Mapped[str] = mapped_column(String(32))  # the same for every endpoint's copy of one event
    # The JSON body; emptied once the delivery is finished, so the log keeps no personal data.
    payload: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16), default=WebhookDeliveryStatus.PENDING, index=True)
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    endpoint: Mapped[WebhookEndpoint] = relationship()


class WebhookAttempt(db.Model):
    """One try of a delivery: the receiver's status code, or why there was none."""

    __tablename__ = "webhook_attempt"

    id: Mapped[int] = mapped_column(primary_key=True)
    delivery_id: Mapped[int] = mapped_column(ForeignKey("webhook_delivery.id", ondelete="CASCADE"), index=True)
    attempted_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    status_code: Mapped[int | None] = mapped_column()
    error: Mapped[str | None] = mapped_column(String(300))
    duration_ms: Mapped[int] = mapped_column(default=0)

    delivery: Mapped[WebhookDelivery] = relationship()
