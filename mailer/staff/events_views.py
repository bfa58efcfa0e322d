"""Staff pages for the events list: create, edit and cancel (editors and admins alike)."""
from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import get_locale, gettext
from wtforms.fields.choices import SelectChoice

from mailer.events import service
from mailer.events.service import EventValidationError
from mailer.extensions import db
from mailer.models import Event, EventStatus, Topic
from mailer.staff.auth import staff_required
from mailer.staff.event_forms import CancelEventForm, EventForm
from mailer.staff.views import LogoutForm

bp = Blueprint("staff_events", __name__, url_prefix="/staff/events")


@bp.context_processor
def events_context() -> dict[str, object]:
    return {
        "event_when": lambda event: service.format_when(event.starts_at, event.ends_at, str(get_locale())),
        "event_type_labels": service.event_type_labels(),
        "event_place": service.event_place,
        "logout_form": LogoutForm(),
    }


def _topic_choices() -> list[SelectChoice]:
    language = str(get_locale())
    return [SelectChoice(str(t.id), t.name(language)) for t in db.session.scalars(db.select(Topic).order_by(Topic.position))]


def _event_or_404(event_id: int) -> Event:
    event = service.get_event(event_id)
    if event is None:
        abort(404)
    return event


def _form_page(form: EventForm, event: Event | None, status: int = 200):
    return render_template("staff/event_form.html", form=form, event=event, cancel_form=CancelEventForm()), status


def _save(form: EventForm, event: Event | None):
    """Validate, hand over to the service, and answer 400 with the form on any bad input."""
    if not form.validate():
        db.session.rollback()
        return _form_page(form, event, 400)
    try:
        if event is None:
            event = service.create_event(form.event_data())
        else:
            service.update_event(event, form.event_data())
    except EventValidationError as error:
        db.session.rollback()
        field = getattr(form, error.field, None) if error.field != "description_markdown" else form.description
        (field.errors if field is not None else form.form_errors).append(error.message)
        return _form_page(form, event, 400)
    db.session.commit()
    flash(gettext("The event is saved."), "success")
    return redirect(url_for("staff_events.edit", event_id=event.id), 303)


@bp.get("/")
@staff_required()
def index():
    """All events: upcoming first, then previous ones."""
    return render_template(
        "staff/events.html",
        upcoming=service.upcoming_events(),
        previous=service.previous_events(),
        cancel_form=CancelEventForm(),
        cancelled=EventStatus.CANCELLED,
    )


@bp.route("/new", methods=["GET", "POST"])
@staff_required()
def new():
    """Create an event."""
    form = EventForm()
    form.topics.choices = _topic_choices()
    if request.method == "GET":
        form.language.data = form.language.data or str(get_locale())
        return _form_page(form, None)
    return _save(form, None)


@bp.route("/<int:event_id>/edit", methods=["GET", "POST"])
@staff_required()
def edit(event_id: int):
    """Edit an event; calendars pick the change up through its bumped SEQUENCE."""
    event = _event_or_404(event_id)
    form = EventForm()
    form.topics.choices = _topic_choices()
    if request.method == "GET":
        form.fill_from(event)
        return _form_page(form, event)
    return _save(form, event)


@bp.post("/<int:event_id>/cancel")
@staff_required()
def cancel(event_id: int):
    """Cancel an event: it stays listed, marked as cancelled, and calendars drop it."""
    event = _event_or_404(event_id)
    if not CancelEventForm().validate():
        abort(400)
    if service.cancel_event(event):
        db.session.commit()
        flash(gettext("The event is cancelled."), "success")
    else:
        flash(gettext("The event was already cancelled."), "success")
    return redirect(url_for("staff_events.index"), 303)
