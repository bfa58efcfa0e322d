"""Calendar files (.ics, RFC 5545) and "add to calendar" links for events, in the reader's language.

Each takes the language of the person it is for: the title, description, venue and session
titles are that language's version (or the other one's where it was left empty).
"""
from __future__ import annotations

import html
import re
from collections.abc import Iterable
from datetime import datetime, timedelta, timezone
from email.utils import parseaddr
from urllib.parse import urlencode, quote

import nh3
from flask import current_app, has_app_context
from icalendar import Calendar
from icalendar import Event as VEvent
from icalendar import vCalAddress, vText
from werkzeug.routing import BuildError

from mailer.composing.markdown import markdown_to_text
from mailer.languages import DEFAULT_LANGUAGE, shown_language
from mailer.models import Event, EventStatus
from mailer import clock
from mailer.urls import public_url

PRODID = "-//mailer//events//EN"
METHODS = ("PUBLISH", "CANCEL")
# Calendar links carry the description in the URL; keep it well under common URL limits.
LINK_DESCRIPTION_LIMIT = 1000
_TAG_START = re.compile(r"<(?=[A-Za-z!/?])")


def plain_text(value: str | None) -> str:
    """Strip markup from staff text: Google Calendar and Outlook render DESCRIPTION as HTML."""
    text = value or ""
    for _ in range(3):  # entities can hide a second layer of tags ("&lt;script&gt;")
        stripped = html.unescape(nh3.clean(text, tags=set()))
        if stripped == text:
            break
        text = stripped
    # Whatever still looks like the start of a tag is defused, not deleted: "a <b" stays readable.
    return _TAG_START.sub("‹", text).strip()


def event_location(event: Event, language: str = DEFAULT_LANGUAGE) -> str:
    """Venue and city, or the online link."""
    if event.is_online:
        return event.online_url or "Online"
    return ", ".join(plain_text(part) for part in (event.venue_for(language), event.city) if part)


def event_url(event: Event, language: str | None = None) -> str | None:
    """The event's public page on MAILER_BASE_URL, when the events pages are installed.

    With a language, the link opens the page in it (the reader of a mail sees their own).
    """
    if not has_app_context():
        return None
    try:
        if language:
            return public_url("events.event", event_id=event.id, lang=language)
        return public_url("events.event", event_id=event.id)
    except BuildError:
        return None


def organizer_uri() -> vCalAddress | None:
    """The organisation as the events' ORGANIZER: MAILER_ORGANIZER_EMAIL (default: MAILER_FROM)."""
    if not has_app_context():
        return None
    config = current_app.config
    name, address = parseaddr(config.get("ORGANIZER_EMAIL") or config.get("MAIL_FROM", ""))
    if not address:
        return None
    organizer = vCalAddress(f"mailto:{address}")
    name = name or config.get("ORGANISATION_NAME")
    if name:
        organizer.params["cn"] = vText(name)
    return organizer


def _end(starts_at: datetime, ends_at: datetime | None) -> datetime:
    return ends_at or starts_at + timedelta(hours=1)


def _vevents(event: Event, method: str, stamp: datetime, language: str) -> list[VEvent]:
    """One VEVENT for the event, or one per session for a course that meets several times."""
    cancelled = method == "CANCEL" or event.status == EventStatus.CANCELLED
    title = plain_text(event.title_for(language))
    description = plain_text(markdown_to_text(event.description_for(language)))
    location = event_location(event, language)
    url = event_url(event, language)
    organizer = organizer_uri()
    # The language of the text shown: the other one where this one's version is empty.
    title_language = shown_language(event.title_da, event.title_en, language)
    description_language = shown_language(event.description_markdown_da, event.description_markdown_en, language)
    if event.sessions:
        occurrences = [
            (f"{session.id}-{event.uid}", f"{title}: {plain_text(session.title_for(language))}",
             session.starts_at, session.ends_at)
            for session in event.sessions
        ]
    else:
        occurrences = [(event.uid, title, event.starts_at, event.ends_at)]
    components = []
    for uid, summary, starts_at, ends_at in occurrences:
        component = VEvent()
        component.add("uid", uid)
        component.add("sequence", event.sequence or 0)
        component.add("dtstamp", stamp)
        component.add("dtstart", starts_at.astimezone(timezone.utc))
        component.add("dtend", _end(starts_at, ends_at).astimezone(timezone.utc))
        component.add("summary", summary, parameters={"LANGUAGE": title_language})
        if location:
            component.add("location", location)
        if description:
            component.add("description", description, parameters={"LANGUAGE": description_language})
        if url:
            component.add("url", url)
        if organizer:
            # RFC 5546 wants the same ORGANIZER on every version: PUBLISH, the update, the CANCEL.
            component.add("organizer", organizer)
        component.add("status", "CANCELLED" if cancelled else "CONFIRMED")
        components.append(component)
    return components


def _calendar(method: str, name: str | None = None) -> Calendar:
    if method not in METHODS:
        raise ValueError(f"unsupported iCalendar METHOD {method!r}")
    calendar = Calendar()
    calendar.add("prodid", PRODID)
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("method", method)
    if name:
        calendar.add("x-wr-calname", plain_text(name))
    return calendar


def event_to_ics(event: Event, method: str = "PUBLISH", language: str = DEFAULT_LANGUAGE) -> bytes:
    """One event as a .ics file; METHOD:CANCEL removes it from calendars that imported it."""
    calendar = _calendar(method)
    for component in _vevents(event, method, clock.utcnow(), language):
        calendar.add_component(component)
    return calendar.to_ical()


def feed_ics(events: Iterable[Event], name: str | None = None, language: str = DEFAULT_LANGUAGE) -> bytes:
    """A subscribable calendar of several events; cancelled ones carry STATUS:CANCELLED."""
    calendar = _calendar("PUBLISH", name)
    stamp = clock.utcnow()
    for event in events:
        for component in _vevents(event, "PUBLISH", stamp, language):
            calendar.add_component(component)
    return calendar.to_ical()


def _compact_utc(moment: datetime) -> str:
    return moment.astimezone(timezone.utc).strftime("%Y%m%dT%H%M%SZ")


def _iso_utc(moment: datetime) -> str:
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _encode(values: dict[str, str]) -> str:
    """Query string with %20 for spaces: Outlook shows a literal + otherwise."""
    return urlencode(values, quote_via=quote)


def _link_details(event: Event, language: str) -> str:
    details = plain_text(markdown_to_text(event.description_for(language)))
    if len(details) > LINK_DESCRIPTION_LIMIT:
        details = details[: LINK_DESCRIPTION_LIMIT - 1].rstrip() + "…"
    url = event_url(event, language)
    return f"{details}\n\n{url}".strip() if url else details


def calendar_links(event: Event, language: str = DEFAULT_LANGUAGE) -> dict[str, str]:
    """"Add to calendar" links for Google Calendar, Outlook.com and Microsoft 365, spanning the whole event."""
    starts_at, ends_at = event.starts_at, _end(event.starts_at, event.ends_at)
    title = plain_text(event.title_for(language))
    details, location = _link_details(event, language), event_location(event, language)
    google = {
        "action": "TEMPLATE",
        "text": title,
        "dates": f"{_compact_utc(starts_at)}/{_compact_utc(ends_at)}",
        "details": details,
        "location": location,
        "ctz": "Europe/Copenhagen",
    }
    outlook = {
        "path": "/calendar/action/compose",
        "rru": "addevent",
        "subject": title,
        "startdt": _iso_utc(starts_at),
        "enddt": _iso_utc(ends_at),
        "body": details,
        "location": location,
    }
    return {
        "google": "https://calendar.google.com/calendar/render?" + _encode(google),
        "outlook": "https://outlook.live.com/calendar/0/deeplink/compose?" + _encode(outlook),
        "office365": "https://outlook.office.com/calendar/0/deeplink/compose?" + _encode(outlook),
    }
