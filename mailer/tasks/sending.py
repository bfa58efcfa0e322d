"""Tasks of the sending engine: start due mailings and wake workers to send them."""
from __future__ import annotations

import logging
import os
import socket

from celery import shared_task
from flask import current_app

from mailer.mailings import states
from mailer.tasks import queue
from mailer.sending import deliveries
from mailer.sending.engine import SendingRun
from mailer.sending.run_setup import build_sender, close_sender, engine_settings, one_database_connection

log = logging.getLogger(__name__)


def wake_senders(mailing_id: int) -> None:
    """Queue one send task per allowed sender (MAILER_SEND_CONCURRENCY); each claims its own batches.

    The one place that wakes senders: after a start, a resume, or a beat that finds rows waiting.
    A task too many finds nothing to claim; a broker fault is logged and the next beat wakes them.
    """
    for _ in range(current_app.config["SEND_CONCURRENCY"]):
        queue(send_mailing, mailing_id)


@shared_task(ignore_result=True)
def start_mailing(mailing_id: int) -> bool:
    """Start one due mailing (a no-op if someone else already did) and wake the senders."""
    started = states.start(mailing_id)
    if started:
        wake_senders(mailing_id)
    return started


@shared_task(ignore_result=True)
def start_due_mailings() -> int:
    """Beat: start every scheduled mailing whose time has come."""
    started = 0
    for mailing_id in states.due_mailing_ids():
        if states.start(mailing_id):
            wake_senders(mailing_id)
            started += 1
    return started


@shared_task(ignore_result=True)
def wake_sending_mailings() -> int:
    """Beat: wake senders for sending mailings that have rows to claim; finish the done ones."""
    woken = 0
    for mailing_id in states.sending_mailing_ids():
        if deliveries.has_claimable_rows(mailing_id) or not states.audience_complete(mailing_id):
            wake_senders(mailing_id)
            woken += 1
        else:
            states.finish_if_done(mailing_id)
    return woken


@shared_task(ignore_result=True, acks_late=True)
def send_mailing(mailing_id: int) -> int:
    """Claim and send batches until nothing is left; a duplicate task finds nothing to claim."""
    worker = f"{socket.gethostname()}:{os.getpid()}"
    sender = build_sender()
    try:
        with one_database_connection():
            sent = SendingRun(mailing_id, worker, sender, engine_settings()).run()
    finally:
        close_sender(sender)
    log.info("worker %s sent %s messages of mailing %s", worker, sent, mailing_id)
    return sent
