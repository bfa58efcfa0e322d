"""Tasks of the outgoing webhooks: deliver one event to one endpoint, and sweep up lost deliveries.

Deliveries are queued only after the transaction that emitted them commits (queue_after_commit):
a task never looks for a row that is not there yet, and a rolled-back change sends nothing.
"""
from __future__ import annotations

import logging
from datetime import timedelta

from celery import shared_task
from flask import Flask
from sqlalchemy import event

from mailer import clock
from mailer.extensions import db
from mailer.outbound_webhooks import deliveries
from mailer.outbound_webhooks.events import TO_QUEUE
from mailer.tasks import queue

log = logging.getLogger(__name__)


@shared_task(ignore_result=True)
def deliver_webhook(delivery_id: int) -> None:
    """Try one delivery; on failure queue its retry after the backoff."""
    job = deliveries.claim(delivery_id)
    db.session.commit()
    if job is None:
        return
    result = deliveries.send(job)  # outside any transaction
    retry_in = deliveries.record(job, result)
    db.session.commit()
    if retry_in is not None:
        deliver_webhook.apply_async((delivery_id,), countdown=retry_in)


@shared_task(ignore_result=True)
def queue_due_webhook_deliveries() -> int:
    """Beat: queue deliveries that are due but whose task was lost (a broker outage, a Redis flush)."""
    due = deliveries.due_ids(due_before=clock.utcnow() - timedelta(minutes=1))
    for delivery_id in due:
        deliver_webhook.delay(delivery_id)
    if due:
        log.warning("re-queued %s webhook deliveries whose task was lost", len(due))
    return len(due)


def _queue_emitted(session) -> None:
    for delivery_id in session.info.pop(TO_QUEUE, []):
        queue(deliver_webhook, delivery_id)


def _forget_emitted(session, *args) -> None:
    session.info.pop(TO_QUEUE, None)


def queue_after_commit(app: Flask) -> None:
    """Queue the deliveries a transaction emitted once it commits; forget them if it rolls back."""
    if not event.contains(db.session, "after_commit", _queue_emitted):
        event.listen(db.session, "after_commit", _queue_emitted)
        event.listen(db.session, "after_soft_rollback", _forget_emitted)
