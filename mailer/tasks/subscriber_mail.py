"""Tasks of the subscriber lifecycle: the opt-in, manage-link and welcome mails, and ending pauses."""
from __future__ import annotations

import logging
from datetime import timedelta

from celery import shared_task
from sqlalchemy.exc import IntegrityError

from mailer.extensions import db
from mailer.models import ConsentChannel
from mailer.subscribers import lifecycle
from mailer.subscribers.consent import Origin
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
def record_signup(email: str, name: str | None, language: str, topic_ids: list[int], frequency: str,
                  ip: str | None, user_agent: str | None, mail_interval_seconds: float) -> None:
    """A signup from the form, recorded after the visitor's answer was sent.

    Looking the address up takes different work for a new, pending or confirmed address; done here,
    that difference cannot show in how fast /subscribe answers.
    """
    try:
        subscriber_id = lifecycle.request_subscription(
            email=email, name=name, language=language, topic_ids=topic_ids, frequency=frequency,
            origin=Origin(ConsentChannel.FORM, ip=ip, user_agent=user_agent),
            mail_interval=timedelta(seconds=mail_interval_seconds),
        )
    except lifecycle.UnknownTopic:
        db.session.rollback()
        log.info("signup dropped: a chosen topic stopped being public")
        return
    db.session.commit()
    if subscriber_id is not None:
        send_link_mail.delay(subscriber_id)


@shared_task(ignore_result=True)
def record_link_request(email: str, mail_interval_seconds: float) -> None:
    """A request for a fresh link, handled after the answer was sent (known or not, the answer is the same)."""
    subscriber_id = lifecycle.request_new_link(email, mail_interval=timedelta(seconds=mail_interval_seconds))
    db.session.commit()
    if subscriber_id is not None:
        send_link_mail.delay(subscriber_id)


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
