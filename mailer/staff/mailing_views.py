"""Staff pages to draft, preview, test, schedule and send mailings.

Editors draft, preview and send tests; only admins schedule, send now and unschedule
(cancel and pause live on the progress page, staff_sending). Scheduling or sending the
mailing of an event also sets its reminders (mailer.events.reminders).
"""
from __future__ import annotations

import logging
from datetime import datetime

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import get_locale, gettext
from flask_login import current_user
from wtforms.fields.choices import SelectChoice

from mailer.mailings import drafts, preview, queries, scheduling, templates_store
from mailer.mailings.audience_summary import AudienceRefused
from mailer.mailings.versions import version_columns
from mailer.subscribers.lifecycle import active_topics
from mailer.events import reminders
from mailer.clock import DateOutOfRange, NonExistentLocalTime, local_to_utc, utc_to_local
from mailer.models import Mailing, MailingKind, MailingStatus, StaffRole
from mailer.mailings import states
from mailer.models.mailing import EDITABLE
from mailer.mail.transports import SendError
from mailer.staff.mailing_forms import ActionForm, MailingForm, ScheduleForm, SendNowForm, TestSendForm
from mailer.staff.mailing_preview_page import render_preview_page
from mailer.staff.auth import staff_required
from mailer.staff.labels import kind_labels, mailing_status_labels
from mailer.staff.reminder_notices import flash_reminder_notes
from mailer.staff.login_views import LogoutForm
from mailer.sending.progress import sent_and_total
from mailer.tasks import queue
from mailer.tasks.sending import start_mailing

log = logging.getLogger(__name__)

bp = Blueprint("staff_mailings", __name__, url_prefix="/staff/mailings")


def _load_or_404(mailing_id: int) -> Mailing:
    mailing = queries.get_mailing(mailing_id)
    if mailing is None:
        abort(404)
    if mailing.kind == MailingKind.DIGEST:
        # A digest is made by the schedule and differs for each reader: it has no draft to
        # edit, preview or test-send. Its page is the progress page.
        abort(redirect(url_for("staff_sending.mailing", mailing_id=mailing.id)))
    return mailing


def _language() -> str:
    return str(get_locale() or "da")


def _fill_choices(form: MailingForm, mailing: Mailing | None = None) -> None:
    language = _language()
    form.topics.choices = [SelectChoice(t.id, t.name(language)) for t in active_topics()]
    form.audience_language.choices = [SelectChoice(None, gettext("Everyone, each in their own language")),
                                      SelectChoice("da", gettext("Only readers who chose Danish")),
                                      SelectChoice("en", gettext("Only readers who chose English"))]
    events = queries.events_to_offer(mailing.event if mailing is not None else None)
    form.event_id.choices = [SelectChoice(None, gettext("No event"))] + [
        SelectChoice(e.id, f"{e.display_title} ({utc_to_local(e.starts_at).strftime('%Y-%m-%d')})") for e in events]
    form.template_id.choices = [SelectChoice(None, gettext("Standard template"))] + [
        SelectChoice(t.id, t.name) for t in templates_store.list_templates()]


def _draft_data(form: MailingForm) -> drafts.DraftData:
    return drafts.DraftData(
        **form.versions(), audience_language=form.audience_language.data,
        topic_ids=list(form.topics.data or []), event_id=form.event_id.data, template_id=form.template_id.data,
    )


def _render_form(form: MailingForm, mailing: Mailing | None, code: int = 200):
    return render_template("staff/mailing_form.html", form=form, mailing=mailing,
                           status_labels=mailing_status_labels(), logout_form=LogoutForm()), code


def _form_errors_from(form: MailingForm, error: drafts.DraftInvalid) -> None:
    fields = {"topic_ids": form.topics}
    for name, message in error.errors.items():
        field = fields.get(name) or getattr(form, name, None)
        if field is not None:
            field.errors = [*field.errors, str(message)]


@bp.get("/")
@staff_required()
def index():
    """All mailings, newest first, with their status."""
    mailings = queries.list_mailings()
    return render_template("staff/mailings.html", mailings=mailings,
                           counts=sent_and_total([mailing.id for mailing in mailings]),
                           status_labels=mailing_status_labels(), kind_labels=kind_labels(),
                           editable=EDITABLE, logout_form=LogoutForm())


@bp.route("/new", methods=["GET", "POST"])
@staff_required()
def new():
    """Draft a new mailing."""
    form = MailingForm()
    _fill_choices(form)
    if request.method == "GET":
        event_id = request.args.get("event", type=int)
        if event_id and queries.event_exists(event_id):
            form.event_id.data = event_id
        return _render_form(form, None)
    if not form.validate():
        return _render_form(form, None, 400)
    try:
        mailing = drafts.create_draft(_draft_data(form), created_by_id=current_user.id)
    except drafts.DraftInvalid as error:
        _form_errors_from(form, error)
        return _render_form(form, None, 400)
    flash(gettext("The draft is saved."), "success")
    return redirect(url_for("staff_mailings.preview_page", mailing_id=mailing.id), code=303)


@bp.route("/<int:mailing_id>/edit", methods=["GET", "POST"])
@staff_required()
def edit(mailing_id: int):
    """Edit a draft or scheduled mailing."""
    mailing = _load_or_404(mailing_id)
    if mailing.status not in EDITABLE:
        flash(gettext("This mailing can no longer be edited: it has started or finished."), "error")
        return redirect(url_for("staff_sending.mailing", mailing_id=mailing_id), code=303)
    form = MailingForm(obj=None) if request.method == "POST" else MailingForm(
        **{name: getattr(mailing, name) for name in version_columns()},
        topics=[t.id for t in mailing.topics], audience_language=mailing.audience_language,
        event_id=mailing.event_id, template_id=mailing.template_id)
    _fill_choices(form, mailing)
    if request.method == "GET":
        return _render_form(form, mailing)
    if not form.validate():
        return _render_form(form, mailing, 400)
    try:
        edited = drafts.edit_mailing(mailing_id, _draft_data(form), current_user.id,
                                     keep_schedule=current_user.is_admin)
    except drafts.NotEditable:
        flash(gettext("This mailing can no longer be edited: it has started or finished."), "error")
        return redirect(url_for("staff_sending.mailing", mailing_id=mailing_id), code=303)
    except drafts.DraftInvalid as error:
        _form_errors_from(form, error)
        return _render_form(form, mailing, 400)
    if edited.mailing.status == MailingStatus.SCHEDULED:
        scheduling.record_presend_check(mailing_id)
    flash(gettext("Your changes are saved."), "success")
    if edited.back_to_draft:
        flash(gettext("The mailing is a draft again and will not be sent: an admin must schedule it again."),
              "warning")
        flash_reminder_notes(edited.reminder_notes)
    return redirect(url_for("staff_mailings.preview_page", mailing_id=mailing_id), code=303)


@bp.get("/<int:mailing_id>/preview")
@staff_required()
def preview_page(mailing_id: int):
    """Subject, HTML and text as a chosen subscriber gets them, the pre-send check and the send controls."""
    return render_preview_page(_load_or_404(mailing_id))


@bp.post("/<int:mailing_id>/test")
@staff_required()
def test_send(mailing_id: int):
    """Send a [TEST] copy to up to ten staff-entered addresses."""
    mailing = _load_or_404(mailing_id)
    form = TestSendForm()
    if not form.validate():
        return render_preview_page(mailing, 400, test_form=form)
    try:
        preview.send_test(mailing_id, form.address_list, language=form.language.data or None,
                          staff_user_id=current_user.id)
    except preview.TestAddressRefused as refused:
        form.addresses.errors = [gettext(
            "Tests go only to staff addresses; an admin can allow you other addresses. Not a staff address: "
            "%(addresses)s", addresses=", ".join(refused.addresses))]
        return render_preview_page(mailing, 400, test_form=form)
    except preview.TestLimitReached:
        form.addresses.errors = [gettext(
            "You have sent %(limit)s test mails in the last hour, the most allowed. Please try again later.",
            limit=preview.TEST_SENDS_PER_HOUR)]
        return render_preview_page(mailing, 429, test_form=form)
    except (SendError, OSError, ValueError) as error:
        log.warning("test send of mailing %s failed: %s", mailing_id, error)
        flash(gettext("The test could not be sent: %(error)s", error=str(error)), "error")
        return render_preview_page(mailing, 502 if isinstance(error, (SendError, OSError)) else 400, test_form=form)
    flash(gettext("A test was sent to %(addresses)s.", addresses=", ".join(form.address_list)), "success")
    return redirect(url_for("staff_mailings.preview_page", mailing_id=mailing_id), code=303)


def _not_allowed_now():
    flash(gettext("This mailing is no longer a draft or scheduled, so that is not possible."), "error")


def _progress_page(mailing_id: int):
    return redirect(url_for("staff_sending.mailing", mailing_id=mailing_id), code=303)


@bp.post("/<int:mailing_id>/schedule")
@staff_required(StaffRole.ADMIN)
def schedule(mailing_id: int):
    """Schedule for a Danish local time in the future."""
    mailing = _load_or_404(mailing_id)
    form = ScheduleForm()
    if not form.validate():
        return render_preview_page(mailing, 400, schedule_form=form)
    local: datetime = form.when.data
    try:
        when = local_to_utc(local)
    except DateOutOfRange:
        form.when.errors = [gettext("That date is too far in the past or the future.")]
        return render_preview_page(mailing, 400, schedule_form=form)
    except NonExistentLocalTime:
        form.when.errors = [gettext("That time does not exist in Denmark (the clocks go forward). Choose another.")]
        return render_preview_page(mailing, 400, schedule_form=form)
    try:
        notes = scheduling.schedule_mailing(mailing_id, when, form.reminder_days(), current_user.id,
                                            form.expected_recipients.data)
    except AudienceRefused as refusal:
        form.expected_recipients.errors = [str(refusal.message)]
        return render_preview_page(mailing, 400, schedule_form=form)
    except scheduling.WhenInPast:
        form.when.errors = [gettext("Please choose a time in the future.")]
        return render_preview_page(mailing, 400, schedule_form=form)
    except reminders.ReminderRefused as refusal:
        form.reminders.errors = [*form.reminders.errors, str(refusal.message)]
        return render_preview_page(mailing, 400, schedule_form=form)
    except states.InvalidTransition:
        _not_allowed_now()
        return _progress_page(mailing_id)
    flash(gettext("The mailing is scheduled for %(when)s (Danish time).", when=local.strftime("%Y-%m-%d %H:%M")),
          "success")
    flash_reminder_notes(notes)
    return redirect(url_for("staff_mailings.preview_page", mailing_id=mailing_id), code=303)


@bp.post("/<int:mailing_id>/send-now")
@staff_required(StaffRole.ADMIN)
def send_now(mailing_id: int):
    """Start sending at once (with the reminders ticked) and go to the progress page."""
    mailing = _load_or_404(mailing_id)
    form = SendNowForm()
    if form.validate():
        try:
            notes = scheduling.send_mailing_now(mailing_id, form.reminder_days(), current_user.id,
                                                form.expected_recipients.data)
        except AudienceRefused as refusal:
            form.expected_recipients.errors = [str(refusal.message)]
        except reminders.ReminderRefused as refusal:
            form.reminders.errors = [*form.reminders.errors, str(refusal.message)]
        except states.InvalidTransition:
            _not_allowed_now()
            return _progress_page(mailing_id)
        else:
            flash_reminder_notes(notes)
            _queue_start(mailing_id)
            flash(gettext("Sending has started."), "success")
            return _progress_page(mailing_id)
    if form.csrf_token.errors:
        abort(400)
    shown = ScheduleForm()  # the page's one sending form, with what was ticked and why it was refused
    shown.reminders.errors, shown.reminder_other.errors = form.reminders.errors, form.reminder_other.errors
    shown.expected_recipients.errors = form.expected_recipients.errors
    return render_preview_page(mailing, 400, schedule_form=shown)


def _queue_start(mailing_id: int) -> None:
    """Queue the task that starts a mailing scheduled for now (after the commit, so the worker sees it)."""
    queue(start_mailing, mailing_id)


@bp.post("/<int:mailing_id>/unschedule")
@staff_required(StaffRole.ADMIN)
def unschedule(mailing_id: int):
    """Turn a scheduled mailing back into a draft."""
    _load_or_404(mailing_id)
    if not ActionForm().validate():
        abort(400)
    try:
        states.unschedule(mailing_id)
    except states.InvalidTransition:
        flash(gettext("Only a scheduled mailing can go back to draft."), "error")
    else:
        flash(gettext("The mailing is a draft again and will not be sent."), "success")
        # Its reminders would go to nobody: they follow the mailing back out of the schedule.
        flash_reminder_notes(reminders.remove_waiting_reminders(mailing_id))
    return redirect(url_for("staff_mailings.preview_page", mailing_id=mailing_id), code=303)
