"""Queue the opt-in mails of an import without holding up the admin's request."""
from __future__ import annotations

import logging

from celery import shared_task

from mailer.tasks.subscriber_mail import send_link_mail

log = logging.getLogger(__name__)

# Ids per fan-out task: keeps each broker message small while a 10,000-row import needs only ten.
FAN_OUT_CHUNK = 1000


@shared_task(ignore_result=True)
def queue_import_link_mails(subscriber_ids: list[int]) -> int:
    """Queue one opt-in mail task per imported subscriber; each task checks the mail is still owed."""
    for subscriber_id in subscriber_ids:
        send_link_mail.delay(subscriber_id)
    log.info("queued %s opt-in mails of an import", len(subscriber_ids))
    return len(subscriber_ids)


def queue_import_mails(subscriber_ids: list[int]) -> None:
    """Queue the fan-out tasks for these subscribers, in chunks, after the import has been committed."""
    from mailer.tasks import queue

    for start in range(0, len(subscriber_ids), FAN_OUT_CHUNK):
        queue(queue_import_link_mails, subscriber_ids[start:start + FAN_OUT_CHUNK])
