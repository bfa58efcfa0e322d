"""Events: workshops, networking, courses, seminars and panels, past and future."""
from __future__ import annotations

import secrets
from datetime import datetime
from enum import StrEnum

from sqlalchemy import Column, ForeignKey, Integer, String, Table, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from mailer.extensions import db
from mailer.languages import in_language
from mailer.models.subscriber import Topic
from mailer.models.types import UTCDateTime, utcnow


class EventType(StrEnum):
    WORKSHOP = "workshop"
    NETWORKING = "networking"
    COURSE = "course"
    SEMINAR = "seminar"
    PANEL = "panel"
    OTHER = "other"


class EventStatus(StrEnum):
    PLANNED = "planned"
    CANCELLED = "cancelled"


def new_event_uid() -> str:
    return f"{secrets.token_hex(12)}@mailer"


event_topic = Table(
    "event_topic",
    db.metadata,
    Column("event_id", Integer, ForeignKey("event.id", ondelete="CASCADE"), primary_key=True),
    Column("topic_id", Integer, ForeignKey("topic.id", ondelete="CASCADE"), primary_key=True),
)


class Event(db.Model):
    """One event; times are stored in UTC and shown in Europe/Copenhagen."""

    id: Mapped[int] = mapped_column(primary_key=True)
    # Stable across edits, so calendars update (and cancel) the same entry.
    uid: Mapped[str] = mapped_column(String(64), unique=True, default=new_event_uid)
    title_da: Mapped[str] = mapped_column(String(200), default="", server_default="")
    title_en: Mapped[str] = mapped_column(String(200), default="", server_default="")
    event_type: Mapped[str] = mapped_column(String(16), default=EventType.OTHER)
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    ends_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    venue_da: Mapped[str | None] = mapped_column(String(200))
    venue_en: Mapped[str | None] = mapped_column(String(200))
    city: Mapped[str | None] = mapped_column(String(100))
    is_online: Mapped[bool] = mapped_column(default=False)
    online_url: Mapped[str | None] = mapped_column(String(500))
    description_markdown_da: Mapped[str] = mapped_column(Text, default="", server_default="")
    description_markdown_en: Mapped[str] = mapped_column(Text, default="", server_default="")
    image_url: Mapped[str | None] = mapped_column(String(500))
    image_alt: Mapped[str | None] = mapped_column(String(300))
    image_credit: Mapped[str | None] = mapped_column(String(200))
    signup_url: Mapped[str | None] = mapped_column(String(500))
    status: Mapped[str] = mapped_column(String(16), default=EventStatus.PLANNED)
    sequence: Mapped[int] = mapped_column(default=0)  # iCalendar SEQUENCE, bumped on every change
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    topics: Mapped[list[Topic]] = relationship(secondary=event_topic, order_by=Topic.position)
    sessions: Mapped[list[EventSession]] = relationship(
        back_populates="event", cascade="all, delete-orphan", order_by="EventSession.starts_at"
    )

    def title_for(self, language: str) -> str:
        return in_language(self.title_da, self.title_en, language)

    def description_for(self, language: str) -> str:
        return in_language(self.description_markdown_da, self.description_markdown_en, language)

    def venue_for(self, language: str) -> str:
        return in_language(self.venue_da, self.venue_en, language)

    @property
    def display_title(self) -> str:
        """The title for staff lists: the Danish one, or the English one when only that was written."""
        return self.title_for("da")


class EventSession(db.Model):
    """One date of a course that meets several times (a kickoff and seminars)."""

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("event.id", ondelete="CASCADE"), index=True)
    title_da: Mapped[str] = mapped_column(String(200), default="", server_default="")
    title_en: Mapped[str] = mapped_column(String(200), default="", server_default="")
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime)
    ends_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    event: Mapped[Event] = relationship(back_populates="sessions")

    def title_for(self, language: str) -> str:
        return in_language(self.title_da, self.title_en, language)
