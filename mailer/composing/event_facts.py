"""What a mail says about an event: the one set of facts behind the event card, digest entries and welcome list.

Call it inside the reader's locale (flask_babel.force_locale): "Online" and the date are
in their language, the time in Copenhagen's.
"""
from __future__ import annotations

from typing import Any

from mailer.events.calendar import calendar_links, event_url
from mailer.clock import format_when
from mailer.events.service import event_place
from mailer.models import Event, EventStatus


def _web_link(url: str | None) -> str | None:
    return url if (url or "").startswith(("https://", "http://")) else None


def event_facts(event: Event, language: str) -> dict[str, Any]:
    """The event's title, time, place, page and calendar links, image and sessions, in one language (with fallback)."""
    links = calendar_links(event, language)
    return {
        "title": event.title_for(language),
        "when": format_when(event.starts_at, event.ends_at, language),
        "where": event_place(event, language),
        "url": event_url(event, language),
        "image_url": _web_link(event.image_url),
        "image_alt": event.image_alt,
        "image_credit": event.image_credit,
        "signup_url": _web_link(event.signup_url),
        "google_url": links.get("google"),
        "outlook_url": links.get("outlook"),
        "cancelled": event.status == EventStatus.CANCELLED,
        "sessions": [{"title": s.title_for(language), "when": format_when(s.starts_at, s.ends_at, language)}
                     for s in event.sessions],
    }
