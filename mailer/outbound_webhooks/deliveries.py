"""Deliver one webhook event: claim it, POST it signed, record the try, and retry or give up.

A delivery is retried with a doubling wait (WEBHOOK_RETRY_SECONDS up to WEBHOOK_RETRY_MAX_SECONDS)
until it gets a 2xx. Every failed try also counts against its endpoint: after WEBHOOK_DISABLE_AFTER
failures in a row (any success resets the count) the endpoint is disabled, its waiting deliveries
are abandoned, and staff see why on the webhooks page. Delivery is at least once: a receiver
de-duplicates on X-Mailer-Event-Id.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import select, update

from mailer import clock
from mailer.extensions import db
from mailer.models import WebhookAttempt, WebhookDelivery, WebhookDeliveryStatus, WebhookEndpoint
from mailer.outbound_webhooks import http_post, signing
from mailer.outbound_webhooks.http_post import PostResult

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ClaimedDelivery:
    delivery_id: int
    endpoint_id: int
    url: str
    secret: str
    event: str
    event_id: str
    body: bytes


def claim(delivery_id: int) -> ClaimedDelivery | None:
    """Take a due delivery for one try; None if it is not due, finished, or another worker has it.

    The claim pushes next_attempt_at past the request's timeout, so a second task for the same delivery
    (a redelivered message, the beat's sweep) finds nothing to do. The caller commits before sending.
    """
    now = clock.utcnow()
    lease = timedelta(seconds=current_app.config["WEBHOOK_TIMEOUT_SECONDS"] * 3 + 30)
    claimed = db.session.execute(
        update(WebhookDelivery)
        .where(WebhookDelivery.id == delivery_id, WebhookDelivery.status == WebhookDeliveryStatus.PENDING,
               WebhookDelivery.next_attempt_at <= now)
        .values(next_attempt_at=now + lease)
        .execution_options(synchronize_session=False)
    ).rowcount
    if not claimed:
        return None
    delivery = db.session.get(WebhookDelivery, delivery_id)
    endpoint = delivery.endpoint
    if not endpoint.active:
        _abandon([delivery_id], now)
        return None
    return ClaimedDelivery(delivery_id, endpoint.id, endpoint.url, endpoint.secret, delivery.event,
                           delivery.event_id, delivery.payload.encode())


def send(job: ClaimedDelivery) -> PostResult:
    """POST the delivery, signed now; no database work, so no transaction is held open meanwhile."""
    timestamp = int(clock.utcnow().timestamp())
    headers = signing.headers(secret=job.secret, timestamp=timestamp, body=job.body, event=job.event,
                              event_id=job.event_id)
    return http_post.post(job.url, job.body, headers, allow_private=current_app.config["WEBHOOK_ALLOW_PRIVATE"],
                          timeout=current_app.config["WEBHOOK_TIMEOUT_SECONDS"])


def _retry_wait(attempts: int) -> float:
    config = current_app.config
    return min(config["WEBHOOK_RETRY_SECONDS"] * 2 ** (attempts - 1), config["WEBHOOK_RETRY_MAX_SECONDS"])


def _abandon(delivery_ids: list[int], now: datetime) -> None:
    db.session.execute(
        update(WebhookDelivery)
        .where(WebhookDelivery.id.in_(delivery_ids), WebhookDelivery.status == WebhookDeliveryStatus.PENDING)
        .values(status=WebhookDeliveryStatus.ABANDONED, finished_at=now, payload="", next_attempt_at=None)
        .execution_options(synchronize_session=False))


def record(job: ClaimedDelivery, result: PostResult) -> float | None:
    """Log the try and move the delivery on; return seconds until its retry, or None when it is finished.

    The caller commits.
    """
    now = clock.utcnow()
    db.session.add(WebhookAttempt(delivery_id=job.delivery_id, attempted_at=now, status_code=result.status_code,
                                  error=result.error, duration_ms=result.duration_ms))
    delivery = db.session.get(WebhookDelivery, job.delivery_id)
    endpoint = db.session.get(WebhookEndpoint, job.endpoint_id)
    delivery.attempts += 1
    if result.delivered:
        delivery.status, delivery.finished_at = WebhookDeliveryStatus.DELIVERED, now
        delivery.payload, delivery.next_attempt_at = "", None  # the log keeps no personal data
        endpoint.consecutive_failures = 0
        log.info("webhook delivery %s to endpoint %s: HTTP %s", job.delivery_id, job.endpoint_id,
                 result.status_code)
        return None
    endpoint.consecutive_failures += 1
    log.warning("webhook delivery %s to endpoint %s failed (try %s): %s", job.delivery_id, job.endpoint_id,
                delivery.attempts, result.error)
    if endpoint.consecutive_failures >= current_app.config["WEBHOOK_DISABLE_AFTER"]:
        disable(endpoint, f"{endpoint.consecutive_failures} failed tries in a row; the last: {result.error}", now)
        return None
    wait = _retry_wait(delivery.attempts)
    delivery.next_attempt_at = now + timedelta(seconds=wait)
    return wait


def disable(endpoint: WebhookEndpoint, reason: str, now: datetime) -> None:
    """Stop sending to an endpoint and abandon what waits for it; the webhooks page shows the reason."""
    endpoint.active, endpoint.disabled_at, endpoint.disabled_reason = False, now, reason[:300]
    waiting = list(db.session.scalars(select(WebhookDelivery.id).where(
        WebhookDelivery.endpoint_id == endpoint.id, WebhookDelivery.status == WebhookDeliveryStatus.PENDING)))
    if waiting:
        _abandon(waiting, now)
    log.warning("webhook endpoint %s disabled: %s", endpoint.id, reason)


def due_ids(due_before: datetime) -> list[int]:
    """Deliveries due before this time and still waiting: their task was lost or never queued."""
    return list(db.session.scalars(
        select(WebhookDelivery.id).where(WebhookDelivery.status == WebhookDeliveryStatus.PENDING,
                                         WebhookDelivery.next_attempt_at <= due_before)
        .order_by(WebhookDelivery.id).limit(1000)))
