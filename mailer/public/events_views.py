"""Public events pages: the list, one event, its .ics file and the feed of upcoming events.

Everything is in the visitor's language: an event's title, text and venue in that version, or
in the other one where it was left empty.
"""
from __future__ import annotations

from datetime import datetime

from flask import Blueprint, Response, abort, current_app, redirect, render_template, url_for
from flask_babel import get_locale, gettext

from mailer import clock
from mailer.events import calendar, service
from mailer.languages import shown_language
from mailer.models import Event, EventStatus
from mailer.public import page_cache

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


def _first_end(upcoming: list[Event]) -> datetime | None:
    """When the soonest of these events ends and moves to the previous ones: the page holds until then."""
    return min(((e.ends_at or e.starts_at) for e in upcoming), default=None)


# Each page is rendered by a function that also says until when it holds; page_cache keeps it per
# language until then or until staff change something (mailer/content_version.py).

def _previous_page(page: int) -> tuple[list[Event], bool]:
    """One page of previous events, newest first, and whether older ones follow."""
    per_page = current_app.config["PREVIOUS_EVENTS_PER_PAGE"]
    events = service.previous_events(limit=per_page + 1, offset=(page - 1) * per_page)
    return events[:per_page], len(events) > per_page


@bp.get("/events")
def events():
    """Upcoming events, soonest first; then the newest previous ones, with a link to older pages."""
    def render():
        upcoming = service.upcoming_events()
        previous, more = _previous_page(1)
        return render_template("public/events.html", upcoming=upcoming, previous=previous,
                               older_page=2 if more else None), _first_end(upcoming)
    return page_cache.serve(render)


@bp.get("/events/previous/<int:page>")
def previous(page: int):
    """Older previous events, a page at a time (page 1 is on the events page itself)."""
    if page < 2:
        return redirect(url_for("events.events", _anchor="previous-heading"))
    def render():
        shown, more = _previous_page(page)
        if not shown:
            abort(404)
        # An event that ends moves every later one a place down: the page holds until then.
        return render_template("public/previous_events.html", previous=shown, page=page,
                               older_page=page + 1 if more else None), _first_end(service.upcoming_events())
    return page_cache.serve(render)


@bp.get("/events/<int:event_id>")
def event(event_id: int):
    """One event with its sessions, image, signup button and calendar links."""
    def render():
        item = _event_or_404(event_id)
        ended = service.has_ended(item)
        language = str(get_locale())
        return render_template(
            "public/event.html",
            event=item,
            description=service.description_html(item, language),
            ended=ended,
            links=calendar.calendar_links(item, language),
        ), None if ended else _first_end([item])
    return page_cache.serve(render)


@bp.get("/events/<int:event_id>.ics")
def event_ics(event_id: int):
    """The event as a calendar file."""
    def render():
        item = _event_or_404(event_id)
        return _ics(calendar.event_to_ics(item, language=str(get_locale())), f"event-{item.id}.ics"), None
    return page_cache.serve(render)


@bp.get("/events.ics")
def feed():
    """A calendar feed of upcoming events that calendar apps can subscribe to."""
    def render():
        name = gettext("Events") + " · " + current_app.config["ORGANISATION_NAME"]
        upcoming = service.upcoming_events()
        return _ics(calendar.feed_ics(upcoming, name=name, language=str(get_locale())), "events.ics", "inline"), \
            _first_end(upcoming)
    return page_cache.serve(render)
