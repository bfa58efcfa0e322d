"""Mailings and their per-recipient delivery ledger."""
from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import Column, ForeignKey, Index, Integer, String, Table, Text, UniqueConstraint, func, true
from sqlalchemy.ext.hybrid import hybrid_property
from sqlalchemy.orm import Mapped, mapped_column, relationship

from mailer.extensions import db
from mailer.languages import in_language
from mailer.models.event import Event
from mailer.models.staff import StaffUser
from mailer.models.subscriber import Topic
from mailer.models.types import UTCDateTime, utcnow


class MailingStatus(StrEnum):
    DRAFT = "draft"
    SCHEDULED = "scheduled"
    SENDING = "sending"
    PAUSED = "paused"
    SENT = "sent"
    CANCELLED = "cancelled"


# Sets of statuses the rules and pages share, stated once. Tuples, so SQL IN lists keep one order.
# Not started yet: the text can still change, and it can be scheduled or sent.
EDITABLE = (MailingStatus.DRAFT, MailingStatus.SCHEDULED)
# Waiting for its time, or on its way out (a reminder's parent in one of these holds it back).
GOING_OUT = (MailingStatus.SCHEDULED, MailingStatus.SENDING, MailingStatus.PAUSED)
# Has reached (or is reaching) people: they should hear of a cancellation, and its reminders stay put.
REACHED_PEOPLE = (MailingStatus.SENDING, MailingStatus.PAUSED, MailingStatus.SENT)
# Not yet (fully) out, so it can still be cancelled.
CANCELLABLE = (*EDITABLE, MailingStatus.SENDING, MailingStatus.PAUSED)
PAUSABLE = (MailingStatus.SENDING,)
RESUMABLE = (MailingStatus.PAUSED,)


class MailingKind(StrEnum):
    ANNOUNCEMENT = "announcement"  # to the confirmed subscribers of its topics who take announcements
    REMINDER = "reminder"          # to those who got the parent mailing and are still subscribed
    CANCELLATION = "cancellation"  # the same audience as a reminder; its .ics cancels the event
    DIGEST = "digest"              # the periodic upcoming-events digest, different for each recipient


class DeliveryStatus(StrEnum):
    PENDING = "pending"      # waiting to be claimed (next_attempt_at may delay a retry)
    CLAIMED = "claimed"      # leased by a worker until lease_expires_at
    SENT = "sent"            # accepted by the SMTP server
    FAILED = "failed"        # gave up: retries exhausted or our sender refused
    BOUNCED = "bounced"      # 5xx for this recipient
    UNKNOWN = "unknown"      # the connection failed after the final dot: may or may not have arrived
    SKIPPED = "skipped"      # unsubscribed between the snapshot and the send


mailing_topic = Table(
    "mailing_topic",
    db.metadata,
    Column("mailing_id", Integer, ForeignKey("mailing.id", ondelete="CASCADE"), primary_key=True),
    Column("topic_id", Integer, ForeignKey("topic.id", ondelete="CASCADE"), primary_key=True),
)


class Mailing(db.Model):
    """A mailing to the confirmed subscribers of some topics, written in Danish and English.

    Each subscriber gets the version in their own language; a version left empty falls back
    to the other (mailer.languages.in_language).
    """

    id: Mapped[int] = mapped_column(primary_key=True)
    subject_da: Mapped[str] = mapped_column(String(200), default="", server_default="")
    subject_en: Mapped[str] = mapped_column(String(200), default="", server_default="")
    preheader_da: Mapped[str] = mapped_column(String(200), default="", server_default="")
    preheader_en: Mapped[str] = mapped_column(String(200), default="", server_default="")
    body_markdown_da: Mapped[str] = mapped_column(Text, default="", server_default="")
    body_markdown_en: Mapped[str] = mapped_column(Text, default="", server_default="")
    # An optional audience filter: only subscribers who chose this language. None: everyone.
    audience_language: Mapped[str | None] = mapped_column(String(2))
    status: Mapped[str] = mapped_column(String(16), default=MailingStatus.DRAFT, index=True)
    kind: Mapped[str] = mapped_column(String(16), default=MailingKind.ANNOUNCEMENT,
                                      server_default=MailingKind.ANNOUNCEMENT.value)
    # A reminder or cancellation notice goes to the recipients of this mailing.
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("mailing.id", ondelete="SET NULL"), index=True)
    # A reminder is scheduled this many days before its event starts (re-timed when the event moves).
    remind_days_before: Mapped[int | None] = mapped_column()
    # The audience is snapshotted in chunks after the start; "sent" waits for the last chunk.
    audience_complete: Mapped[bool] = mapped_column(default=True, server_default=true())
    audience_cursor: Mapped[int | None] = mapped_column()  # the last subscriber id snapshotted
    status_reason: Mapped[str | None] = mapped_column(String(300))
    # The reason of the last automatic pause: kept after a resume, so the finished mailing still says it.
    auto_pause_reason: Mapped[str | None] = mapped_column(String(300))
    # Set while the mail server cannot be reached: senders wait (back off) until relay_retry_at.
    relay_down_since: Mapped[datetime | None] = mapped_column(UTCDateTime)
    relay_retry_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    relay_error: Mapped[str | None] = mapped_column(String(300))
    scheduled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    event_id: Mapped[int | None] = mapped_column(ForeignKey("event.id", ondelete="SET NULL"))
    template_id: Mapped[int | None] = mapped_column(ForeignKey("mail_template.id", ondelete="SET NULL"))
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("staff_user.id", ondelete="SET NULL"))
    # Who scheduled it (cleared when it goes back to draft) and who last changed its content.
    scheduled_by_id: Mapped[int | None] = mapped_column(ForeignKey("staff_user.id", ondelete="SET NULL"))
    edited_by_id: Mapped[int | None] = mapped_column(ForeignKey("staff_user.id", ondelete="SET NULL"))
    # The pre-send check's warnings (JSON list), recorded when the mailing is scheduled or sent.
    presend_warnings: Mapped[str | None] = mapped_column(Text)

    topics: Mapped[list[Topic]] = relationship(secondary=mailing_topic, order_by=Topic.position)
    event: Mapped[Event | None] = relationship()
    parent: Mapped[Mailing | None] = relationship(remote_side="Mailing.id")
    scheduled_by: Mapped[StaffUser | None] = relationship(foreign_keys=[scheduled_by_id], viewonly=True)
    edited_by: Mapped[StaffUser | None] = relationship(foreign_keys=[edited_by_id], viewonly=True)

    def subject_for(self, language: str) -> str:
        return in_language(self.subject_da, self.subject_en, language)

    def preheader_for(self, language: str) -> str:
        return in_language(self.preheader_da, self.preheader_en, language)

    def body_for(self, language: str) -> str:
        return in_language(self.body_markdown_da, self.body_markdown_en, language)

    def has_version(self, language: str) -> bool:
        """Whether staff wrote this language's version (a subject or a text of its own)."""
        return bool((getattr(self, f"subject_{language}") or "").strip()
                    or (getattr(self, f"body_markdown_{language}") or "").strip())

    @hybrid_property
    def display_subject(self) -> str:
        """The subject for lists: the Danish one, or the English one when only that was written."""
        return self.subject_for("da")

    @display_subject.inplace.expression
    @classmethod
    def _display_subject_expression(cls):
        return func.coalesce(func.nullif(cls.subject_da, ""), cls.subject_en)


class Delivery(db.Model):
    """One recipient of one mailing: the ledger is the truth about who got it."""

    __table_args__ = (
        UniqueConstraint("mailing_id", "subscriber_id"),
        Index("ix_delivery_claimable", "mailing_id", "status", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    mailing_id: Mapped[int] = mapped_column(ForeignKey("mailing.id", ondelete="CASCADE"))
    subscriber_id: Mapped[int] = mapped_column(ForeignKey("subscriber.id", ondelete="CASCADE"), index=True)
    status: Mapped[str] = mapped_column(String(16), default=DeliveryStatus.PENDING)
    attempts: Mapped[int] = mapped_column(default=0)  # SMTP tries on the wire, at most SEND_MAX_ATTEMPTS
    claims: Mapped[int] = mapped_column(default=0, server_default="0")  # times a worker leased the row
    # Hand-offs whose reply was lost after the final dot; the first is resent by default (MAILER_RESEND_UNKNOWN).
    uncertain: Mapped[int] = mapped_column(default=0, server_default="0")
    last_error: Mapped[str | None] = mapped_column(String(500))
    smtp_reply: Mapped[str | None] = mapped_column(String(500))
    message_id: Mapped[str | None] = mapped_column(String(200))
    claimed_by: Mapped[str | None] = mapped_column(String(100))
    lease_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    next_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Per-recipient content chosen at snapshot time (a digest's event ids, as JSON), so a retry
    # sends the same mail.
    payload: Mapped[str | None] = mapped_column(Text)
