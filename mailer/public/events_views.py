"""Public events pages: the list, one event, its .ics file and the feed of upcoming events.

Everything is in the visitor's language: an event's title, text and venue in that version, or
in the other one where it was left empty.
"""
from __future__ import annotations

from flask import Blueprint, Response, abort, current_app, render_template
from flask_babel import get_locale, gettext

from mailer import clock
from mailer.events import calendar, service
from mailer.languages import shown_language
from mailer.models import Event, EventStatus

bp = Blueprint("events", __name__)

ICS_TYPE = "text/calendar; charset=utf-8"


@bp.context_processor
def events_context() -> dict[str, object]:
    return {
        "event_when": lambda event: clock.format_when(event.starts_at, event.ends_at, str(get_locale())),
        "session_when": lambda session: clock.format_when(session.starts_at, session.ends_at, str(get_locale())),
        "event_type_labels": service.event_type_labels(),
        "event_place": lambda event: service.event_place(event, str(get_locale())),
        "title_of": lambda item: item.title_for(str(get_locale())),
        # The language of the version shown (a fallback is in the other one), for lang attributes.
        "lang_of": lambda item, name: shown_language(getattr(item, f"{name}_da"), getattr(item, f"{name}_en"),
                                                     str(get_locale())),
        "cancelled": EventStatus.CANCELLED,
    }


def _event_or_404(event_id: int) -> Event:
    event = service.get_event(event_id)
    if event is None:
        abort(404)
    return event


def _ics(data: bytes, filename: str, disposition: str = "attachment") -> Response:
    response = Response(data, content_type=ICS_TYPE)
    response.headers["Content-Disposition"] = f'{disposition}; filename="{filename}"'
    return response


@bp.get("/events")
def events():
    """Upcoming events, soonest first; then previous ones, newest first."""
    return render_template(
        "public/events.html", upcoming=service.upcoming_events(), previous=service.previous_events()
    )


@bp.get("/events/<int:event_id>")
def event(event_id: int):
    """One event with its sessions, image, signup button and calendar links."""
    item = _event_or_404(event_id)
    return render_template(
        "public/event.html",
        event=item,
        description=service.description_html(item, str(get_locale())),
        ended=service.has_ended(item),
        links=calendar.calendar_links(item, str(get_locale())),
    )


@bp.get("/events/<int:event_id>.ics")
def event_ics(event_id: int):
    """The event as a calendar file."""
    item = _event_or_404(event_id)
    return _ics(calendar.event_to_ics(item, language=str(get_locale())), f"event-{item.id}.ics")


@bp.get("/events.ics")
def feed():
    """A calendar feed of upcoming events that calendar apps can subscribe to."""
    name = gettext("Events") + " · " + current_app.config["ORGANISATION_NAME"]
    return _ics(calendar.feed_ics(service.upcoming_events(), name=name, language=str(get_locale())), "events.ics", "inline")
