"""The announcement's preview page: the mail as a subscriber gets it, the pre-send check, reminders and send controls."""
from __future__ import annotations

from flask import flash, render_template, request
from flask_babel import get_locale, gettext
from flask_login import current_user

from mailer.announcements import preview
from mailer.announcements.presend import presend_warnings, warnings_from_json
from mailer.events import reminders
from mailer.extensions import db
from mailer.models import Announcement, EventStatus, Subscriber
from mailer.sending import campaign
from mailer.staff.announcement_forms import ActionForm, ScheduleForm, TestSendForm
from mailer.staff.mailing_notices import danish_time, days_before, kind_labels
from mailer.staff.sending_views import announcement_status_labels
from mailer.staff.views import LogoutForm


def schedule_form_for(announcement: Announcement) -> ScheduleForm:
    """The empty schedule form, with the reminders that are waiting already ticked."""
    pending = reminders.pending_reminder_days(announcement.id) if reminders.can_have_reminders(announcement) else []
    suggested = [days for days in pending if days in reminders.SUGGESTED_DAYS]
    other = ", ".join(str(days) for days in pending if days not in reminders.SUGGESTED_DAYS)
    return ScheduleForm(formdata=None, reminders=suggested, reminder_other=other)


def render_preview_page(announcement: Announcement, code: int = 200, *, test_form: TestSendForm | None = None,
                        schedule_form: ScheduleForm | None = None):
    """The preview page, with a form's errors when one was refused (`code` 400)."""
    subscriber_id = request.args.get("subscriber", type=int)
    subscriber = db.session.get(Subscriber, subscriber_id) if subscriber_id else None
    if subscriber_id and subscriber is None:
        flash(gettext("That subscriber does not exist."), "error")
    query = (request.args.get("q") or "")[:254]
    language = request.args.get("language")
    if language not in ("da", "en"):
        language = str(get_locale() or "da")
    message, render_error, warnings = None, None, []
    try:
        message = preview.render_preview(announcement.id, subscriber.id if subscriber else None, language)
        warnings = presend_warnings(message.subject, announcement.preheader or "", message.html, message.text)
    except ValueError as error:  # a custom template that no longer renders
        render_error = str(error)
    test_form = test_form or TestSendForm(formdata=None, addresses=current_user.email,
                                          language=preview.preview_language(announcement, subscriber, language))
    return render_template(
        "staff/announcement_preview.html",
        announcement=announcement, message=message, render_error=render_error, warnings=warnings,
        recorded_warnings=warnings_from_json(announcement.presend_warnings),
        subscriber=subscriber, matches=preview.find_subscribers(query) if query else [], query=query,
        preview_language=preview.preview_language(announcement, subscriber, language),
        test_form=test_form, schedule_form=schedule_form or schedule_form_for(announcement), action_form=ActionForm(),
        editable=announcement.status in campaign.EDITABLE, status_labels=announcement_status_labels(),
        kind_labels=kind_labels(), can_remind=reminders.can_have_reminders(announcement),
        reminder_list=reminders.reminders_of(announcement.id), danish_time=danish_time, days_before=days_before,
        event_cancelled=announcement.event is not None and announcement.event.status == EventStatus.CANCELLED,
        logout_form=LogoutForm(),
    ), code
