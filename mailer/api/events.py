"""HTTP: /api/v1/events: list, read, create, change and cancel events, through the staff pages' services.

A change re-times the event's waiting reminders and refreshes its unsent mailings' prefilled texts,
as an edit in the staff workspace does; DELETE cancels (the event stays listed, marked cancelled, and
its reminders stop), because announced events must be able to send a cancellation notice.
"""
from __future__ import annotations

from flask import url_for
from flask.views import MethodView
from flask_smorest import abort
from sqlalchemy import select

from mailer.api import bilingual
from mailer.api.content_schemas import EventIn, EventOut, EventPage
from mailer.api.docs import api_blueprint, problems
from mailer.api.idempotency import IdempotencyHeaderSchema, idempotent
from mailer.api.pagination import keyset_page
from mailer.api.schemas import PageQuery
from mailer.clock import FieldValueError
from mailer.events import mailings, service
from mailer.events.service import EventData, SessionData
from mailer.extensions import db
from mailer.models import Event

bp = api_blueprint("api_events", "events", "Events: workshops, courses, panels; titles and texts in Danish and English")


def event_json(event: Event) -> dict:
    return {
        "id": event.id, "event_type": event.event_type, "status": event.status,
        "title": bilingual.shown(event, "title"),
        "description_markdown": bilingual.shown(event, "description_markdown"),
        "venue": bilingual.shown(event, "venue"),
        "starts_at": event.starts_at, "ends_at": event.ends_at, "city": event.city, "is_online": event.is_online,
        "online_url": event.online_url, "image_url": event.image_url, "image_alt": event.image_alt,
        "image_credit": event.image_credit, "signup_url": event.signup_url,
        "topics": [t.id for t in event.topics],
        "sessions": [{"title": s.title, "starts_at": s.starts_at, "ends_at": s.ends_at} for s in event.sessions],
        "created_at": event.created_at, "updated_at": event.updated_at,
    }


def _event_data(data: dict) -> EventData:
    return EventData(
        **bilingual.stored(data["title"], "title"),
        **bilingual.stored(data.get("description_markdown"), "description_markdown"),
        **bilingual.stored(data.get("venue"), "venue", blank_is_none=True),
        starts_at=data["starts_at"], ends_at=data.get("ends_at"), event_type=data["event_type"],
        city=data.get("city"), is_online=data["is_online"], online_url=data.get("online_url"),
        image_url=data.get("image_url"), image_alt=data.get("image_alt"), image_credit=data.get("image_credit"),
        signup_url=data.get("signup_url"), topic_ids=data["topics"],
        sessions=[SessionData(s["title"], s["starts_at"], s.get("ends_at")) for s in data["sessions"]],
    )


def _refused(error: FieldValueError):
    db.session.rollback()
    abort(422, errors={error.field: [str(error.message)]})


def _event_or_404(event_id: int) -> Event:
    event = service.get_event(event_id)
    if event is None:
        abort(404)
    return event


@bp.route("")
class Events(MethodView):
    @bp.etag
    @bp.arguments(PageQuery, location="query")
    @bp.response(200, EventPage)
    @problems(bp)
    def get(self, query: dict):
        """Every event by id, planned and cancelled, past and upcoming."""
        page = keyset_page(select(Event), Event.id, query.get("after"), query["limit"])
        return {"items": [event_json(e) for e in page["items"]], "next_after": page["next_after"]}

    @bp.arguments(IdempotencyHeaderSchema, location="headers")
    @bp.arguments(EventIn)
    @idempotent
    @bp.response(201, EventOut)
    @problems(bp, 403, 409)
    def post(self, _headers: dict, data: dict):
        """Add an event."""
        try:
            event = service.create_event(_event_data(data))
        except FieldValueError as error:
            _refused(error)
        db.session.commit()
        return event_json(event), 201, {"Location": url_for("api_events.OneEvent", event_id=event.id)}


@bp.route("/<int:event_id>")
class OneEvent(MethodView):
    @bp.etag
    @bp.response(200, EventOut)
    @problems(bp, 404)
    def get(self, event_id: int):
        """One event."""
        return event_json(_event_or_404(event_id))

    @bp.arguments(EventIn)
    @bp.response(200, EventOut)
    @problems(bp, 403, 404)
    def put(self, data: dict, event_id: int):
        """Replace an event's details; its waiting reminders and unsent texts follow."""
        event = _event_or_404(event_id)
        try:
            mailings.update_event_and_mailings(event, _event_data(data))
        except FieldValueError as error:
            _refused(error)
        db.session.commit()
        return event_json(event)

    @bp.response(200, EventOut)
    @problems(bp, 403, 404)
    def delete(self, event_id: int):
        """Cancel the event: it stays listed as cancelled, calendars drop it, its reminders stop."""
        event = _event_or_404(event_id)
        if service.cancel_event(event):
            db.session.commit()
        mailings.withdraw_event_mailings(event)
        return event_json(event)
