"""What came back: the bounces, complaints and mailto unsubscribes the inbound listener acted on."""
from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from mailer.extensions import db
from mailer.models.types import UTCDateTime, utcnow


class BounceKind(StrEnum):
    HARD = "hard"                # the address does not exist or refuses for good
    SOFT = "soft"                # mailbox full, policy, a server down: counted, N in a window make a bounce
    COMPLAINT = "complaint"      # a feedback-loop spam report (RFC 5965)
    UNSUBSCRIBE = "unsubscribe"  # a mail to the List-Unsubscribe mailto: address (RFC 2369)


class BounceEvent(db.Model):
    """One report about one subscriber, with the raw reason, for the staff log and the soft-bounce count."""

    __tablename__ = "bounce_event"
    __table_args__ = (Index("ix_bounce_event_subscriber_created", "subscriber_id", "created_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    subscriber_id: Mapped[int] = mapped_column(ForeignKey("subscriber.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(16))
    # The mailing and delivery the report is about, when the VERP token or the returned Message-ID says.
    mailing_id: Mapped[int | None] = mapped_column(ForeignKey("mailing.id", ondelete="SET NULL"), index=True)
    delivery_id: Mapped[int | None] = mapped_column(ForeignKey("delivery.id", ondelete="SET NULL"))
    reason: Mapped[str] = mapped_column(Text, default="")
    # The Message-ID of the report itself: a report the MTA hands over twice is recorded once.
    report_id: Mapped[str | None] = mapped_column(String(300))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
