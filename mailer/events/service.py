"""Create, edit, cancel and list events; convert Copenhagen wall-clock time to and from UTC.

An event counts as upcoming until it has ended (its end time, or its start time when it has
none), so an event that began an hour ago and is still running is listed as upcoming.
"""
from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from urllib.parse import urlsplit

from flask_babel import lazy_gettext as _l
from sqlalchemy import and_, or_

from mailer.languages import DEFAULT_LANGUAGE, LANGUAGES
from mailer.composing.markdown import markdown_to_safe_html
from mailer.extensions import db
from mailer.models import Event, EventSession, EventStatus, EventType, Topic
from mailer import clock
from mailer.clock import FieldValueError, NonExistentLocalTime, local_to_utc

log = logging.getLogger(__name__)

CONTROL_CHARACTERS = ("\r", "\n", "\x00")


class EventValidationError(FieldValueError):
    """Input that cannot become an event; `field` names the form field it belongs to."""


@dataclass
class SessionData:
    """One date of a course; times are aware datetimes (any zone). A title in one language is enough."""

    title_da: str
    starts_at: datetime
    ends_at: datetime | None = None
    title_en: str = ""


@dataclass
class EventData:
    """Everything staff can set on an event; times are aware datetimes (any zone).

    The texts come in Danish and English; a title in one of them is enough (the other
    language's readers then see it).
    """

    starts_at: datetime
    title_da: str = ""
    title_en: str = ""
    ends_at: datetime | None = None
    event_type: str = EventType.OTHER
    venue_da: str | None = None
    venue_en: str | None = None
    city: str | None = None
    is_online: bool = False
    online_url: str | None = None
    description_markdown_da: str = ""
    description_markdown_en: str = ""
    image_url: str | None = None
    image_alt: str | None = None
    image_credit: str | None = None
    signup_url: str | None = None
    topic_ids: Sequence[int] = ()
    sessions: Sequence[SessionData] = field(default_factory=list)


def event_type_labels() -> dict[str, str]:
    """Each event type's name, in the current language (lazy)."""
    return {
        EventType.WORKSHOP: _l("Workshop"),
        EventType.NETWORKING: _l("Networking"),
        EventType.COURSE: _l("Course"),
        EventType.SEMINAR: _l("Seminar"),
        EventType.PANEL: _l("Panel debate"),
        EventType.OTHER: _l("Other"),
    }


def _utc(moment: datetime, field_name: str) -> datetime:
    if moment.tzinfo is None:
        try:
            return local_to_utc(moment)
        except NonExistentLocalTime as error:
            raise NonExistentLocalTime(field_name, error.message) from None
    return moment.astimezone(timezone.utc)


def _clean_text(value: str | None, field_name: str, max_length: int, *, single_line: bool = True) -> str | None:
    value = (value or "").strip()
    if not value:
        return None
    if single_line and any(c in value for c in CONTROL_CHARACTERS):
        raise EventValidationError(field_name, _l("Line breaks and control characters are not allowed here."))
    if "\x00" in value:
        raise EventValidationError(field_name, _l("Control characters are not allowed here."))
    if len(value) > max_length:
        raise EventValidationError(field_name, _l("Please keep this under %(count)d characters.", count=max_length))
    return value


def _http_url(value: str | None, field_name: str) -> str | None:
    """Accept only absolute http(s) links: a javascript: link in an href would be a script."""
    value = _clean_text(value, field_name, 500)
    if value is None:
        return None
    parts = urlsplit(value)
    if parts.scheme.lower() not in ("http", "https") or not parts.netloc or any(c.isspace() for c in value):
        raise EventValidationError(field_name, _l("Please enter a full web address starting with https://."))
    return value


def _validated(data: EventData) -> dict[str, object]:
    """Check the data and return the column values to set on an Event."""
    titles = {f"title_{language}": _clean_text(getattr(data, f"title_{language}"), f"title_{language}", 200) or ""
              for language in LANGUAGES}
    if not any(titles.values()):
        raise EventValidationError("title_da", _l("Please give the event a title, in Danish or in English."))
    if data.event_type not in {t.value for t in EventType}:
        raise EventValidationError("event_type", _l("Please choose a type of event."))
    starts_at = _utc(data.starts_at, "starts_at")
    ends_at = _utc(data.ends_at, "ends_at") if data.ends_at is not None else None
    if ends_at is not None and ends_at <= starts_at:
        raise EventValidationError("ends_at", _l("The end must be after the start."))
    image_url = _http_url(data.image_url, "image_url")
    image_alt = _clean_text(data.image_alt, "image_alt", 300)
    if image_url and not image_alt:
        raise EventValidationError("image_alt", _l("Please describe the image for people who cannot see it."))
    if data.sessions and data.event_type != EventType.COURSE:
        raise EventValidationError("sessions", _l("Only courses have sessions. Choose the type Course, or leave the sessions empty."))
    return {
        **titles,
        "event_type": data.event_type,
        "starts_at": starts_at,
        "ends_at": ends_at,
        **{f"venue_{lang}": _clean_text(getattr(data, f"venue_{lang}"), f"venue_{lang}", 200) for lang in LANGUAGES},
        "city": _clean_text(data.city, "city", 100),
        "is_online": bool(data.is_online),
        "online_url": _http_url(data.online_url, "online_url"),
        **{f"description_markdown_{lang}": (getattr(data, f"description_markdown_{lang}") or "").replace("\x00", "").strip()
           for lang in LANGUAGES},
        "image_url": image_url,
        "image_alt": image_alt,
        "image_credit": _clean_text(data.image_credit, "image_credit", 200),
        "signup_url": _http_url(data.signup_url, "signup_url"),
    }


def _validated_sessions(sessions: Sequence[SessionData]) -> list[dict[str, object]]:
    values = []
    for item in sessions:
        title_da = _clean_text(item.title_da, "sessions", 200) or ""
        title_en = _clean_text(item.title_en, "sessions", 200) or ""
        if not (title_da or title_en):
            raise EventValidationError("sessions", _l("Every session needs a title."))
        starts_at = _utc(item.starts_at, "sessions")
        ends_at = _utc(item.ends_at, "sessions") if item.ends_at is not None else None
        if ends_at is not None and ends_at <= starts_at:
            raise EventValidationError("sessions", _l("A session must end after it starts."))
        values.append({"title_da": title_da, "title_en": title_en, "starts_at": starts_at, "ends_at": ends_at})
    return sorted(values, key=lambda v: v["starts_at"])


def _topics(topic_ids: Sequence[int]) -> list[Topic]:
    wanted = set(topic_ids)
    if not wanted:
        return []
    topics = list(db.session.scalars(db.select(Topic).where(Topic.id.in_(wanted)).order_by(Topic.position)))
    if len(topics) != len(wanted):
        raise EventValidationError("topics", _l("Please choose topics from the list."))
    return topics


def _apply_sessions(event: Event, sessions: list[dict[str, object]]) -> None:
    """Update sessions in place, so their ids (part of their calendar UIDs) survive an edit."""
    existing = list(event.sessions)
    for index, values in enumerate(sessions):
        if index < len(existing):
            for key, value in values.items():
                setattr(existing[index], key, value)
        else:
            event.sessions.append(EventSession(**values))
    for surplus in existing[len(sessions):]:
        event.sessions.remove(surplus)


def create_event(data: EventData) -> Event:
    """Validate and add a new event to the session (the caller commits)."""
    values = _validated(data)
    sessions = _validated_sessions(data.sessions)
    topics = _topics(data.topic_ids)
    event = Event(**values, status=EventStatus.PLANNED, sequence=0)
    event.topics = topics
    _apply_sessions(event, sessions)
    db.session.add(event)
    db.session.flush()
    log.info("event %s created", event.id)
    return event


def update_event(event: Event, data: EventData) -> Event:
    """Validate and apply changes, bumping the iCalendar SEQUENCE so calendars take them."""
    values = _validated(data)
    sessions = _validated_sessions(data.sessions)
    topics = _topics(data.topic_ids)
    for key, value in values.items():
        setattr(event, key, value)
    event.topics = topics
    _apply_sessions(event, sessions)
    event.sequence = (event.sequence or 0) + 1
    db.session.flush()
    log.info("event %s updated to sequence %s", event.id, event.sequence)
    return event


class EventEnded(ValueError):
    """An event that is over cannot be cancelled: it took place, and calendars should keep it."""


def cancel_event(event: Event) -> bool:
    """Mark an event cancelled; return False when it already was (nothing changes).

    Raises EventEnded for an event that has already ended.
    """
    if event.status == EventStatus.CANCELLED:
        return False
    if has_ended(event):
        raise EventEnded(event.id)
    event.status = EventStatus.CANCELLED
    event.sequence = (event.sequence or 0) + 1
    db.session.flush()
    log.info("event %s cancelled", event.id)
    return True


def get_event(event_id: int) -> Event | None:
    return db.session.get(Event, event_id)


def _not_ended(now: datetime):
    return or_(Event.ends_at > now, and_(Event.ends_at.is_(None), Event.starts_at > now))


def _ended(now: datetime):
    # Spelled out rather than ~_not_ended(): NOT over a NULL end would drop open-ended events.
    return or_(Event.ends_at <= now, and_(Event.ends_at.is_(None), Event.starts_at <= now))


def upcoming_events(now: datetime | None = None, *, include_cancelled: bool = True) -> list[Event]:
    """Events that have not ended yet, soonest first."""
    query = db.select(Event).where(_not_ended(now or clock.utcnow()))
    if not include_cancelled:
        query = query.where(Event.status != EventStatus.CANCELLED)
    return list(db.session.scalars(query.order_by(Event.starts_at, Event.id)))


def previous_events(now: datetime | None = None, *, limit: int | None = None, offset: int = 0) -> list[Event]:
    """Events that have ended, newest first; `limit` and `offset` pick one page of them."""
    query = db.select(Event).where(_ended(now or clock.utcnow()))
    query = query.order_by(Event.starts_at.desc(), Event.id.desc()).offset(offset).limit(limit)
    return list(db.session.scalars(query))


def has_ended(event: Event, now: datetime | None = None) -> bool:
    """Return True once the event's end (or start, when it has no end) has passed."""
    return (event.ends_at or event.starts_at) <= (now or clock.utcnow())


def event_place(event: Event, language: str = DEFAULT_LANGUAGE) -> str:
    """Where the event is, for people: "Online", or the venue (in `language`) and city."""
    if event.is_online:
        return str(_l("Online"))
    return ", ".join(part for part in (event.venue_for(language), event.city) if part)


def description_html(event: Event, language: str = DEFAULT_LANGUAGE) -> str:
    """The event's Markdown description in `language` (or the other version) as safe HTML."""
    return markdown_to_safe_html(event.description_for(language))
