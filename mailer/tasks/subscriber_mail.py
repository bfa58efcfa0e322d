"""Tasks of the subscriber lifecycle: the opt-in, manage-link and welcome mails, and ending pauses."""
from __future__ import annotations

import logging
from datetime import timedelta

from celery import shared_task
from flask import current_app
from sqlalchemy.exc import IntegrityError

from mailer.extensions import db
from mailer.subscribers import public_requests
from mailer.mail.transports import TransientSendError
from mailer import clock
from mailer.subscribers import preferences
from mailer.subscribers.owed_mails import deliver_link_mail, deliver_welcome_mail, owed_link_mail_ids
from mailer.outgoing import get_transport

log = logging.getLogger(__name__)

RETRY = {"autoretry_for": (TransientSendError,), "retry_backoff": 5, "retry_backoff_max": 600, "max_retries": 10}


# Two signups of one new address at once: the second insert fails, and its retry finds the first.
SIGNUP_RETRY = {"autoretry_for": (IntegrityError,), "retry_backoff": 1, "max_retries": 3}


@shared_task(ignore_result=True, **SIGNUP_RETRY)
def handle_public_request(request_id: int) -> None:
    """Handle a signup or new-link request stored by the form, after the visitor's answer was sent.

    Looking the address up takes different work for a new, pending or confirmed address; done here,
    that difference cannot show in how fast the form answers.
    """
    interval = timedelta(seconds=current_app.config["OPT_IN_MAIL_INTERVAL"])
    subscriber_id = public_requests.handle(request_id, interval)
    db.session.commit()
    if subscriber_id is None:
        return
    # The opt-in mail goes out here, not from a second task: the hop through the broker was about a
    # fifth of the worker's time per signup in a signup rush (docs/PERFORMANCE.md). The owed mail is
    # committed above, so a crash before it goes is caught by queue_owed_link_mails.
    try:
        deliver_link_mail(subscriber_id, get_transport())
    except TransientSendError:
        send_link_mail.delay(subscriber_id)  # the relay is busy or away: that task retries with back-off


@shared_task(ignore_result=True)
def queue_waiting_public_requests() -> int:
    """Beat: queue again the form requests whose task never arrived (the broker was down)."""
    waiting = public_requests.waiting_ids(stored_before=clock.utcnow() - timedelta(minutes=2))
    for request_id in waiting:
        handle_public_request.delay(request_id)
    if waiting:
        log.warning("re-queued %s form requests whose task was lost", len(waiting))
    return len(waiting)


@shared_task(ignore_result=True, **RETRY)
def send_link_mail(subscriber_id: int) -> None:
    """Send the opt-in or manage-link mail owed to a subscriber."""
    deliver_link_mail(subscriber_id, get_transport())


@shared_task(ignore_result=True, **RETRY)
def send_welcome_mail(subscriber_id: int) -> None:
    """Send the welcome mail after a confirmation."""
    deliver_welcome_mail(subscriber_id, get_transport())


@shared_task(ignore_result=True)
def queue_owed_link_mails() -> int:
    """Queue link mails that were requested but never sent, e.g. when the broker was down."""
    owed = owed_link_mail_ids(requested_before=clock.utcnow() - timedelta(minutes=2))
    for subscriber_id in owed:
        send_link_mail.delay(subscriber_id)
    if owed:
        log.warning("re-queued %s owed link mails", len(owed))
    return len(owed)



@shared_task(ignore_result=True)
def resume_ended_pauses() -> int:
    """Beat: clear the pauses that ran out and record each RESUME in the consent ledger.

    Mail does not wait for this: the audience query already treats a past pause as over.
    """
    resumed = preferences.resume_ended_pauses(clock.utcnow())
    db.session.commit()
    return resumed
