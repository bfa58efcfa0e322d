"""The webhook endpoints admins register: add, pause, enable again, delete, and their log of tries."""
from __future__ import annotations

import logging
from collections.abc import Collection

from flask import current_app
from sqlalchemy import delete, select

from mailer import clock
from mailer.extensions import db
from mailer.models import WebhookAttempt, WebhookDelivery, WebhookEndpoint, WebhookEvent
from mailer.outbound_webhooks import signing
from mailer.outbound_webhooks.addresses import RefusedTarget, check_url
from mailer.outbound_webhooks.deliveries import disable

log = logging.getLogger(__name__)

__all__ = ["RefusedTarget", "get_endpoint", "list_endpoints", "register", "pause", "enable", "remove", "recent_attempts"]


def list_endpoints() -> list[WebhookEndpoint]:
    return list(db.session.scalars(select(WebhookEndpoint).order_by(WebhookEndpoint.id)))


def get_endpoint(endpoint_id: int) -> WebhookEndpoint | None:
    return db.session.get(WebhookEndpoint, endpoint_id)


def register(url: str, events: Collection[str], *, description: str = "", created_by_id: int | None) -> WebhookEndpoint:
    """Add an endpoint; raise RefusedTarget if its host is unknown or private (unless allowed). The caller commits."""
    check_url(url, allow_private=current_app.config["WEBHOOK_ALLOW_PRIVATE"])
    chosen = [str(e) for e in WebhookEvent if str(e) in set(events)]
    if not chosen:
        raise ValueError("an endpoint needs at least one event")
    endpoint = WebhookEndpoint(url=url, events=" ".join(chosen), description=description,
                               secret=signing.new_secret(), created_by_id=created_by_id)
    db.session.add(endpoint)
    db.session.flush()
    log.info("webhook endpoint %s registered by staff %s for %s", endpoint.id, created_by_id, endpoint.events)
    return endpoint


def pause(endpoint: WebhookEndpoint, staff_id: int) -> None:
    """Stop sending to an endpoint by hand; what waits for it is abandoned. The caller commits."""
    if endpoint.active:
        disable(endpoint, f"disabled by staff {staff_id}", clock.utcnow())


def enable(endpoint: WebhookEndpoint) -> None:
    """Send to an endpoint again, with its failure count reset; abandoned deliveries stay abandoned."""
    check_url(endpoint.url, allow_private=current_app.config["WEBHOOK_ALLOW_PRIVATE"])
    endpoint.active, endpoint.disabled_at, endpoint.disabled_reason = True, None, None
    endpoint.consecutive_failures = 0


def remove(endpoint: WebhookEndpoint) -> None:
    """Delete an endpoint with its deliveries and their log. The caller commits."""
    deliveries = select(WebhookDelivery.id).where(WebhookDelivery.endpoint_id == endpoint.id)
    db.session.execute(delete(WebhookAttempt).where(WebhookAttempt.delivery_id.in_(deliveries)))
    db.session.execute(delete(WebhookDelivery).where(WebhookDelivery.endpoint_id == endpoint.id))
    db.session.execute(delete(WebhookEndpoint).where(WebhookEndpoint.id == endpoint.id))


def recent_attempts(endpoint_id: int, limit: int = 50) -> list[WebhookAttempt]:
    """The endpoint's latest tries, newest first, with their deliveries loaded."""
    return list(db.session.scalars(
        select(WebhookAttempt).join(WebhookDelivery, WebhookAttempt.delivery_id == WebhookDelivery.id)
        .where(WebhookDelivery.endpoint_id == endpoint_id)
        .order_by(WebhookAttempt.id.desc()).limit(limit)))
