"""Staff pages for the events list: create, edit, cancel and announce (editors and admins alike).

Editing an event re-times its waiting reminders; cancelling it withdraws them and offers a
cancellation notice to those who got its mailing. Scheduling and sending stay with
admins, on the mailing's own page.
"""
from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import get_locale, gettext, ngettext
from flask_login import current_user
from wtforms.fields.choices import SelectChoice

from mailer import clock
from mailer.events import mailings, service, update_notices
from mailer.clock import FieldValueError
from mailer.extensions import db
from mailer.models import Mailing, Event, EventStatus
from mailer.staff.auth import staff_required
from mailer.staff.event_forms import AnnounceEventForm, CancellationNoticeForm, CancelEventForm, EventForm, UpdateNoticeForm
from mailer.staff.labels import kind_labels, mailing_status_labels
from mailer.staff.reminder_notices import danish_time, flash_event_moved, flash_withdrawal
from mailer.staff.login_views import LogoutForm
from mailer.subscribers.lifecycle import active_topics

bp = Blueprint("staff_events", __name__, url_prefix="/staff/events")


@bp.context_processor
def events_context() -> dict[str, object]:
    return {
        "event_when": lambda event: clock.format_when(event.starts_at, event.ends_at, str(get_locale())),
        "event_type_labels": service.event_type_labels(),
        "event_place": service.event_place,
        "can_announce": lambda event: event.status != EventStatus.CANCELLED and not service.has_ended(event),
        "can_cancel": lambda event: event.status != EventStatus.CANCELLED and not service.has_ended(event),
        "logout_form": LogoutForm(),
    }


def _topic_choices() -> list[SelectChoice]:
    language = str(get_locale())
    return [SelectChoice(str(t.id), t.name(language)) for t in active_topics()]


def _event_or_404(event_id: int) -> Event:
    event = service.get_event(event_id)
    if event is None:
        abort(404)
    return event


def _form_page(form: EventForm, event: Event | None, status: int = 200):
    mailing_list = mailings.mailings_of(event.id) if event is not None else []
    return render_template(
        "staff/event_form.html", form=form, event=event, cancel_form=CancelEventForm(),
        announce_form=AnnounceEventForm(), notice_form=CancellationNoticeForm(), update_form=UpdateNoticeForm(),
        mailings=mailing_list, needs_notice=mailings.needs_cancellation_notice(event) if event is not None else [],
        out_of_date=update_notices.calendars_out_of_date(event) if event is not None else [],
        kind_labels=kind_labels(), status_labels=mailing_status_labels(), danish_time=danish_time,
    ), status


def _save(form: EventForm, event: Event | None):
    """Validate, hand over to the service, and answer 400 with the form on any bad input."""
    if not form.validate():
        db.session.rollback()
        return _form_page(form, event, 400)
    changes = mailings.EventUpdate()
    try:
        if event is None:
            event = service.create_event(form.event_data())
        else:
            # In one transaction: the waiting reminders and texts change with the event, or nothing does.
            changes = mailings.update_event_and_mailings(event, form.event_data())
    except FieldValueError as error:  # the event's own checks and Danish time alike
        db.session.rollback()
        field = getattr(form, error.field, None)
        (field.errors if field is not None else form.form_errors).append(error.message)
        return _form_page(form, event, 400)
    db.session.commit()
    flash(gettext("The event is saved."), "success")
    flash_event_moved(changes.reminder_notes)
    if changes.refreshed_ids:
        flash(ngettext("%(num)d mail about the event that has not gone out yet now shows the new details.",
                       "%(num)d mails about the event that have not gone out yet now show the new details.",
                       len(changes.refreshed_ids)), "info")
    readers = sum(stale.readers for stale in update_notices.calendars_out_of_date(event))
    if readers:
        flash(ngettext("%(num)d reader has the old time or place in their calendar. Write them an update mail below.",
                       "%(num)d readers have the old time or place in their calendars. Write them an update mail below.",
                       readers), "warning")
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
        announce_form=AnnounceEventForm(),
        cancelled=EventStatus.CANCELLED,
    )


@bp.route("/new", methods=["GET", "POST"])
@staff_required()
def new():
    """Create an event."""
    form = EventForm()
    form.topics.choices = _topic_choices()
    if request.method == "GET":
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
    """Cancel an event: it stays listed, marked as cancelled, calendars drop it, and its reminders stop."""
    event = _event_or_404(event_id)
    if not CancelEventForm().validate():
        abort(400)
    try:
        cancelled = service.cancel_event(event)
    except service.EventEnded:
        db.session.rollback()
        flash(gettext("This event has already ended, so it cannot be cancelled."), "error")
        return redirect(url_for("staff_events.edit", event_id=event.id), 303)
    if cancelled:
        db.session.commit()
        flash(gettext("The event is cancelled."), "success")
    else:
        flash(gettext("The event was already cancelled."), "success")
    # Also when it already was: a cancel interrupted before this point finishes the job now.
    withdrawal = mailings.withdraw_event_mailings(event)
    flash_withdrawal(withdrawal.cancelled_reminders, withdrawal.not_yet_out)
    if withdrawal.needs_notice:
        flash(gettext("People got an announcement of this event. Write them a cancellation notice below."), "warning")
    return redirect(url_for("staff_events.edit", event_id=event.id, _anchor="mailings"), 303)


@bp.post("/<int:event_id>/announce")
@staff_required()
def announce(event_id: int):
    """Create a draft mailing filled in from the event, and open it in the normal form."""
    event = _event_or_404(event_id)
    if not AnnounceEventForm().validate():
        abort(400)
    try:
        mailing = mailings.draft_event_mailing(event, current_user)
    except mailings.EventMailingRefused as refusal:
        db.session.rollback()
        flash(str(refusal.message), "error")
        return redirect(url_for("staff_events.edit", event_id=event.id, _anchor="mailings"), 303)
    flash(gettext("A draft announcement is filled in from the event. Check it and save it."), "success")
    return redirect(url_for("staff_mailings.edit", mailing_id=mailing.id), 303)


@bp.post("/<int:event_id>/cancellation-notice")
@staff_required()
def cancellation_notice(event_id: int):
    """Create the prefilled cancellation notice to those who got a mailing of the event."""
    event = _event_or_404(event_id)
    form = CancellationNoticeForm()
    if not form.validate():
        if form.csrf_token.errors:
            abort(400)
        flash(gettext("Please choose an announcement of this event."), "error")
        return redirect(url_for("staff_events.edit", event_id=event.id, _anchor="mailings"), 303)
    parent = db.session.get(Mailing, form.parent_id)
    try:
        if parent is None or parent.event_id != event.id:
            raise mailings.EventMailingRefused(gettext("Please choose an announcement of this event."))
        notice, created = mailings.draft_cancellation_notice(parent.id, current_user)
    except mailings.EventMailingRefused as refusal:
        db.session.rollback()
        flash(str(refusal.message), "error")
        return redirect(url_for("staff_events.edit", event_id=event.id, _anchor="mailings"), 303)
    if not created:
        flash(gettext("This cancellation notice was already written: here it is."), "info")
        return redirect(url_for("staff_mailings.preview_page", mailing_id=notice.id), 303)
    flash(gettext("The cancellation notice is filled in. Check it, then send it like any mailing."), "success")
    return redirect(url_for("staff_mailings.edit", mailing_id=notice.id), 303)


@bp.post("/<int:event_id>/update-notice")
@staff_required()
def update_notice(event_id: int):
    """Create the prefilled update notice to those who got an announcement of the moved event."""
    event = _event_or_404(event_id)
    form = UpdateNoticeForm()
    back = redirect(url_for("staff_events.edit", event_id=event.id, _anchor="mailings"), 303)
    if not form.validate():
        if form.csrf_token.errors:
            abort(400)
        flash(gettext("Please choose an announcement of this event."), "error")
        return back
    parent = db.session.get(Mailing, form.parent_id)
    try:
        if parent is None or parent.event_id != event.id:
            raise update_notices.UpdateNoticeRefused(gettext("Please choose an announcement of this event."))
        notice, created = update_notices.draft_update_notice(parent.id, current_user)
    except update_notices.UpdateNoticeRefused as refusal:
        db.session.rollback()
        flash(str(refusal.message), "error")
        return back
    if not created:
        flash(gettext("This update mail was already written: here it is."), "info")
        return redirect(url_for("staff_mailings.preview_page", mailing_id=notice.id), 303)
    flash(gettext("The update mail is filled in. Check it, then send it like any mailing."), "success")
    return redirect(url_for("staff_mailings.edit", mailing_id=notice.id), 303)
