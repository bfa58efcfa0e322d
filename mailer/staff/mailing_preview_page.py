"""The mailing's preview page: the mail as a subscriber gets it, the pre-send check, reminders and send controls."""
from __future__ import annotations

from flask import abort, flash, render_template, request
from flask_babel import get_locale, gettext
from flask_login import current_user

from mailer.languages import LANGUAGES
from mailer.mailings import preview
from mailer.mailings.audience_summary import sample_readers, summarise_audience
from mailer.mailings.presend import presend_warnings, warnings_from_json
from mailer.events import reminders
from mailer.extensions import db
from mailer.models import Mailing, EventStatus, Subscriber
from mailer.models.mailing import EDITABLE
from mailer.staff.mailing_forms import ActionForm, ScheduleForm, TestSendForm
from mailer.staff.labels import kind_labels, language_names, mailing_status_labels
from mailer.staff.reminder_notices import danish_time, days_before
from mailer.staff.login_views import LogoutForm


def schedule_form_for(mailing: Mailing) -> ScheduleForm:
    """The empty schedule form, with the reminders that are waiting already ticked."""
    pending = reminders.pending_reminder_days(mailing.id) if reminders.can_have_reminders(mailing) else []
    suggested = [days for days in pending if days in reminders.SUGGESTED_DAYS]
    other = ", ".join(str(days) for days in pending if days not in reminders.SUGGESTED_DAYS)
    return ScheduleForm(formdata=None, reminders=suggested, reminder_other=other)


def render_preview_page(mailing: Mailing, code: int = 200, *, test_form: TestSendForm | None = None,
                        schedule_form: ScheduleForm | None = None):
    """The preview page, with a form's errors when one was refused (`code` 400).

    Only admins may search subscribers and preview as one of them; editors preview as a
    sample subscriber in the language they choose. Every preview's links are inert.
    """
    if not current_user.is_admin and ("q" in request.args or "subscriber" in request.args):
        abort(403)
    subscriber_id = request.args.get("subscriber", type=int)
    subscriber = db.session.get(Subscriber, subscriber_id) if subscriber_id else None
    if subscriber_id and subscriber is None:
        flash(gettext("That subscriber does not exist."), "error")
    query = (request.args.get("q") or "")[:254]
    language = request.args.get("language")
    if language not in LANGUAGES:
        language = str(get_locale() or "da")
    editable = mailing.status in EDITABLE
    message, render_error, warnings = None, None, []
    try:
        message = preview.render_preview(mailing.id, subscriber.id if subscriber else None, language)
        shown = preview.preview_language(mailing, subscriber, language)
        warnings = [*preview.fallback_warnings(mailing),
                    *presend_warnings(message.subject, mailing.preheader_for(shown), message.html, message.text)]
    except ValueError as error:  # a custom template that no longer renders
        render_error = str(error)
    test_form = test_form or TestSendForm(formdata=None, addresses=current_user.email,
                                          language=preview.preview_language(mailing, subscriber, language))
    return render_template(
        "staff/mailing_preview.html",
        mailing=mailing, message=message, render_error=render_error, warnings=warnings,
        recorded_warnings=warnings_from_json(mailing.presend_warnings),
        subscriber=subscriber, matches=preview.find_subscribers(query) if query else [], query=query,
        can_pick_subscriber=current_user.is_admin,
        preview_language=preview.preview_language(mailing, subscriber, language),
        test_form=test_form, schedule_form=schedule_form or schedule_form_for(mailing), action_form=ActionForm(),
        editable=editable, status_labels=mailing_status_labels(),
        kind_labels=kind_labels(), can_remind=reminders.can_have_reminders(mailing),
        reminder_list=reminders.reminders_of(mailing.id), danish_time=danish_time, days_before=days_before,
        event_cancelled=mailing.event is not None and mailing.event.status == EventStatus.CANCELLED,
        audience=summarise_audience(mailing) if editable else None,
        readers=sample_readers(mailing) if editable and current_user.is_admin else {},
        language_names=language_names(),
        logout_form=LogoutForm(),
    ), code
