"""Staff pages for one mailing: live progress, the delivery ledger, and pause / resume / cancel."""
from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

from flask import Blueprint, abort, flash, jsonify, make_response, redirect, render_template, request, url_for
from flask_babel import format_decimal, format_timedelta, get_locale, gettext, ngettext
from flask_login import current_user
from flask_wtf import FlaskForm

from mailer import clock
from mailer.models import MailingStatus, StaffRole
from mailer.models.mailing import CANCELLABLE, PAUSABLE, RESUMABLE

# A mailing in one of these can have its unknown messages sent again.
RESENDABLE = (MailingStatus.SENDING, MailingStatus.PAUSED, MailingStatus.SENT)
from mailer.mailings import states
from mailer.sending import deliveries
from mailer.sending.progress import (
    MailingNotFound,
    mailing_progress,
    delivery_page,
    load_mailing,
    progress_of,
)
from mailer.staff.auth import staff_required
from mailer.staff.labels import delivery_status_labels, mailing_status_labels
from mailer.staff.login_views import LogoutForm
from mailer.tasks.sending import wake_senders

bp = Blueprint("staff_sending", __name__, url_prefix="/staff/mailings")

PER_PAGE = 50


class ControlForm(FlaskForm):
    """Pause, resume and cancel carry nothing but the CSRF token."""


def _load_or_404(mailing_id: int):
    try:
        return load_mailing(mailing_id)
    except MailingNotFound:
        abort(404)


def _time_text(value: str | None) -> str | None:
    return clock.format_copenhagen(datetime.fromisoformat(value), str(get_locale())) if value else None


def _status_text(progress: dict) -> str:
    """The status in words; a mailing that finished with failures never says plainly "sent"."""
    if progress["status"] == MailingStatus.SENT and (progress["failed"] or progress["unknown"] or progress["bounced"]):
        return gettext("Sent with %(failed)s failed, %(unknown)s unknown, %(bounced)s bounced",
                       failed=progress["failed"], unknown=progress["unknown"], bounced=progress["bounced"])
    if progress["no_audience"]:
        return gettext("Not sent: nobody was in the audience when sending started")
    return mailing_status_labels().get(progress["status"], progress["status"])


# How often the page asks for news: often while sending or about to start, rarely while a start is far off.
POLL_SOON, POLL_LATER = "every 2s", "every 30s"
SOON = timedelta(minutes=1)


def _poll_trigger(progress: dict) -> str | None:
    """The htmx trigger for the progress fragment; None once nothing will change by itself."""
    if progress["status"] == MailingStatus.SENDING:
        return POLL_SOON
    if progress["status"] == MailingStatus.SCHEDULED and progress["scheduled_at"]:
        due_in = datetime.fromisoformat(progress["scheduled_at"]) - clock.utcnow()
        return POLL_SOON if due_in <= SOON else POLL_LATER
    return None


def _progress_context(progress: dict) -> dict[str, object]:
    """Values the progress fragment shows, formatted in the staff member's language."""
    eta = progress["eta_seconds"]
    return {
        "progress": progress,
        "poll_trigger": _poll_trigger(progress),
        "status_text": _status_text(progress),
        "relay_since_text": _time_text(progress["relay_down_since"]),
        "relay_retry_text": _time_text(progress["relay_retry_at"]),
        "rate_text": format_decimal(progress["rate"], format="#,##0.0"),
        "eta_text": format_timedelta(timedelta(seconds=eta), threshold=1.1) if eta is not None else None,
        "percent_text": format_decimal(progress["percent"], format="#,##0.0"),
    }


@bp.get("/<int:mailing_id>")
@staff_required()
def mailing(mailing_id: int):
    """A mailing with its live progress, its controls and the delivery ledger."""
    item = _load_or_404(mailing_id)
    status_filter = request.args.get("status", "") or None
    page = max(request.args.get("page", 1, type=int), 1)
    try:
        rows, filtered_total = delivery_page(mailing_id, status_filter, page, PER_PAGE)
    except ValueError:
        abort(400)
    counts = deliveries.status_counts(mailing_id)
    progress = progress_of(item, counts)
    last_page = max((filtered_total + PER_PAGE - 1) // PER_PAGE, 1)
    return render_template(
        "staff/mailing.html",
        mailing=item,
        counts=counts,
        rows=rows,
        status_filter=status_filter,
        page=page,
        last_page=last_page,
        filtered_total=filtered_total,
        delivery_labels=delivery_status_labels(),
        # Editors see the progress; only admins get the buttons (the routes check it too).
        can_pause=current_user.is_admin and item.status in PAUSABLE,
        can_resume=current_user.is_admin and item.status in RESUMABLE,
        can_cancel=current_user.is_admin and item.status in CANCELLABLE,
        can_resend_unknown=current_user.is_admin and item.status in RESENDABLE and progress["unknown"] > 0,
        form=ControlForm(),
        logout_form=LogoutForm(),
        **_progress_context(progress),
    )


@bp.get("/<int:mailing_id>/progress")
@staff_required()
def progress_fragment(mailing_id: int):
    """The progress fragment htmx polls while the mailing is sending."""
    try:
        progress = mailing_progress(mailing_id)
    except MailingNotFound:
        abort(404)
    response = make_response(render_template("staff/_progress.html", **_progress_context(progress)))
    if request.headers.get("HX-Request") and _poll_trigger(progress) is None:
        # Sending stopped (finished, paused or cancelled): reload the whole page, so
        # the buttons and the ledger match the new status. The page then stops polling.
        # From scheduled to sending the fragment is swapped in place.
        response.headers["HX-Refresh"] = "true"
    return response


@bp.get("/<int:mailing_id>/progress.json")
@staff_required()
def progress_json(mailing_id: int):
    """The same progress as JSON, for scripts and monitoring."""
    try:
        return jsonify(mailing_progress(mailing_id))
    except MailingNotFound:
        abort(404)


def _control(mailing_id: int, action: Callable[[int], None], done: str, refused: str):
    _load_or_404(mailing_id)
    if not ControlForm().validate():
        abort(400)
    try:
        action(mailing_id)
    except states.InvalidTransition:
        flash(refused, "error")
        return False
    flash(done, "success")
    return True


def _back(mailing_id: int):
    return redirect(url_for("staff_sending.mailing", mailing_id=mailing_id), code=303)


@bp.post("/<int:mailing_id>/pause")
@staff_required(StaffRole.ADMIN)
def pause(mailing_id: int):
    """Pause sending; workers stop after their current group."""
    _control(
        mailing_id,
        states.pause,
        gettext("Sending is paused. Messages already handed to a worker may still go out."),
        gettext("Only a mailing that is sending can be paused."),
    )
    return _back(mailing_id)


@bp.post("/<int:mailing_id>/resume")
@staff_required(StaffRole.ADMIN)
def resume(mailing_id: int):
    """Resume a paused mailing and wake the senders."""
    resumed = _control(
        mailing_id,
        states.resume,
        gettext("Sending has resumed."),
        gettext("Only a paused mailing can be resumed."),
    )
    if resumed:
        wake_senders(mailing_id)
    return _back(mailing_id)


@bp.post("/<int:mailing_id>/cancel")
@staff_required(StaffRole.ADMIN)
def cancel(mailing_id: int):
    """Cancel the mailing; messages not yet sent are never sent."""
    _control(
        mailing_id,
        states.cancel,
        gettext("The mailing is cancelled. Messages not yet sent will not be sent."),
        gettext("This mailing has already finished or been cancelled, so it cannot be cancelled."),
    )
    return _back(mailing_id)


@bp.post("/<int:mailing_id>/resend-unknown")
@staff_required(StaffRole.ADMIN)
def resend_unknown(mailing_id: int):
    """Send the unknown messages again, with their Message-IDs, and wake the senders."""
    _load_or_404(mailing_id)
    if not ControlForm().validate():
        abort(400)
    try:
        count = states.resend_unknown(mailing_id)
    except states.InvalidTransition:
        flash(gettext("Only a mailing that is sending, paused or sent can resend its unknown messages."), "error")
        return _back(mailing_id)
    if count:
        wake_senders(mailing_id)
    flash(ngettext("%(num)s unknown message will be sent again.", "%(num)s unknown messages will be sent again.",
                   count), "success")
    return _back(mailing_id)
