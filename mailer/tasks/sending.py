"""Tasks of the sending engine: start due announcements and wake workers to send them."""
from __future__ import annotations

import logging
import os
import socket

from celery import shared_task
from flask import current_app

from mailer.sending import campaign, ledger
from mailer.sending.engine import SendingRun
from mailer.sending.factory import build_sender, close_sender, engine_settings, one_database_connection

log = logging.getLogger(__name__)


def _wake(announcement_id: int) -> None:
    for _ in range(current_app.config["SEND_CONCURRENCY"]):
        send_announcement.delay(announcement_id)


@shared_task(ignore_result=True)
def start_announcement(announcement_id: int) -> bool:
    """Start one due announcement (a no-op if someone else already did) and wake the senders."""
    started = campaign.start(announcement_id)
    if started:
        _wake(announcement_id)
    return started


@shared_task(ignore_result=True)
def start_due_announcements() -> int:
    """Beat: start every scheduled announcement whose time has come."""
    started = 0
    for announcement_id in campaign.due_announcement_ids():
        if campaign.start(announcement_id):
            _wake(announcement_id)
            started += 1
    return started


@shared_task(ignore_result=True)
def wake_sending_announcements() -> int:
    """Beat: wake senders for sending announcements that have rows to claim; finish the done ones."""
    woken = 0
    for announcement_id in campaign.sending_announcement_ids():
        if ledger.has_claimable_rows(announcement_id) or not campaign.audience_complete(announcement_id):
            _wake(announcement_id)
            woken += 1
        else:
            campaign.finish_if_done(announcement_id)
    return woken


@shared_task(ignore_result=True, acks_late=True)
def send_announcement(announcement_id: int) -> int:
    """Claim and send batches until nothing is left; a duplicate task finds nothing to claim."""
    worker = f"{socket.gethostname()}:{os.getpid()}"
    sender = build_sender()
    try:
        with one_database_connection():
            sent = SendingRun(announcement_id, worker, sender, engine_settings()).run()
    finally:
        close_sender(sender)
    log.info("worker %s sent %s messages of announcement %s", worker, sent, announcement_id)
    return sent
