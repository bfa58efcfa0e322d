"""Emit an event: one delivery row per endpoint that wants it, queued for sending after the commit.

Each state change emits from the one domain function that makes it (lifecycle.confirm_subscription,
lifecycle.unsubscribe, bounces.record_hard_bounce, mailings.states.finish_if_done), in the same
transaction: a rolled-back change sends nothing, and a committed one is never lost (the rows are
the outbox; a beat queues any whose task went missing).
"""
from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Collection, Mapping
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import selectinload

from mailer import clock
from mailer.extensions import db
from mailer.models import (
    Delivery,
    Mailing,
    Subscriber,
    SubscriptionStatus,
    Topic,
    WebhookDelivery,
    WebhookEndpoint,
    WebhookEvent,
)

# Delivery ids emitted in this session's transaction; mailer/tasks/outbound_webhooks.py queues them after commit.
TO_QUEUE = "outbound_webhook_delivery_ids"


# The ids and events of the active endpoints: columns, not endpoint objects, because every one-click
# asks (most often to hear "none"), and loading objects was a tenth of a click's time (docs/PERFORMANCE.md).
_ENDPOINTS = WebhookEndpoint.__table__
_ACTIVE = select(_ENDPOINTS.c.id, _ENDPOINTS.c.events).where(_ENDPOINTS.c.active.is_(True))


def _listening(event: WebhookEvent) -> list[int]:
    """The ids of the active endpoints that want the event."""
    return [endpoint_id for endpoint_id, events in db.session.execute(_ACTIVE)
            if str(event) in WebhookEndpoint.parse_events(events)]


def emit(event: WebhookEvent, data: dict[str, Any] | Callable[[], dict[str, Any]],
         endpoints: list[int] | None = None) -> list[int]:
    """Record the event for every active endpoint subscribed to it; return the delivery ids.

    `data` may be a function: it is called only when some endpoint wants the event, so a change
    nobody listens for (the usual case: a one-click unsubscribe) pays one query, not the payload's.
    """
    endpoints = _listening(event) if endpoints is None else endpoints
    if not endpoints:
        return []
    return _record(_deliveries(event, data() if callable(data) else data, endpoints))


def _deliveries(event: WebhookEvent, data: dict[str, Any], endpoints: list[int]) -> list[WebhookDelivery]:
    """One event's delivery rows, one per endpoint (by id), not yet written."""
    now = clock.utcnow()
    event_id = uuid.uuid4().hex
    body = json.dumps({"id": event_id, "type": str(event), "created_at": now.isoformat(timespec="seconds"),
                       "data": data}, ensure_ascii=False, separators=(",", ":"))
    return [WebhookDelivery(endpoint_id=endpoint_id, event=str(event), event_id=event_id, payload=body,
                            next_attempt_at=now) for endpoint_id in endpoints]


def _record(deliveries: list[WebhookDelivery]) -> list[int]:
    """Write delivery rows in one flush and note them for queueing after the commit; return their ids."""
    db.session.add_all(deliveries)
    db.session.flush()
    ids = [d.id for d in deliveries]
    db.session.info.setdefault(TO_QUEUE, []).extend(ids)
    return ids


def _topic_slugs(topic_ids: set[int], slugs: dict[int, str] | None = None) -> list[str]:
    """The topics' slugs, sorted; from `slugs` (id -> slug, read once for many events) when given."""
    if not topic_ids:
        return []
    if slugs is not None:
        return sorted(slugs[topic_id] for topic_id in topic_ids if topic_id in slugs)
    return sorted(db.session.scalars(select(Topic.slug).where(Topic.id.in_(topic_ids))))


def subscriber_data(subscriber: Subscriber, slugs: dict[int, str] | None = None) -> dict[str, Any]:
    """What every subscriber event says about the subscriber: the opaque id, never the row id."""
    return {"id": subscriber.public_id, "email": subscriber.email, "name": subscriber.name,
            "language": subscriber.language, "status": str(subscriber.status),
            "topics": _topic_slugs(subscriber.topic_ids(SubscriptionStatus.CONFIRMED), slugs)}


def forget_subscriber(public_id: str) -> int:
    """GDPR erasure: blank the address and name in every kept event about this subscriber, sent or waiting.

    The event stays (a receiver may still need to hear that the id left), marked "erased"; return how many changed.
    """
    rows = db.session.execute(select(WebhookDelivery.id, WebhookDelivery.payload)
                              .where(WebhookDelivery.payload.contains(f'"id":"{public_id}"', autoescape=True))).all()
    changed = 0
    for delivery_id, payload in rows:
        body = json.loads(payload)
        person = body.get("data", {}).get("subscriber")
        if not isinstance(person, dict) or person.get("id") != public_id:
            continue
        person.update(email=None, name=None, erased=True)
        db.session.execute(update(WebhookDelivery).where(WebhookDelivery.id == delivery_id)
                           .values(payload=json.dumps(body, ensure_ascii=False, separators=(",", ":"))))
        changed += 1
    return changed


def subscriber_event(event: WebhookEvent, subscriber: Subscriber, **extra: Any) -> list[int]:
    """Emit a subscriber.* event; `extra` adds event-specific fields (topic ids become slugs)."""
    def data() -> dict[str, Any]:
        payload: dict[str, Any] = {"subscriber": subscriber_data(subscriber)}
        for name, value in extra.items():
            payload[name] = _topic_slugs(set(value)) if name.endswith("topics") else value
        return payload
    return emit(event, data)


def subscribers_confirmed(confirmed: Mapping[int, Collection[int]]) -> int:
    """subscriber.confirmed for many at once (an import with attested consent): {subscriber id: topic ids}."""
    endpoints = _listening(WebhookEvent.SUBSCRIBER_CONFIRMED) if confirmed else []
    if not endpoints:
        return 0
    ids = sorted(confirmed)
    slugs = dict(db.session.execute(select(Topic.id, Topic.slug)).all())  # once, not twice per subscriber
    for start in range(0, len(ids), 500):
        chunk = db.session.scalars(select(Subscriber).where(Subscriber.id.in_(ids[start:start + 500]))
                                   .options(selectinload(Subscriber.subscriptions))
                                   .execution_options(populate_existing=True))  # written by Core
        _record([delivery for subscriber in chunk for delivery in _deliveries(WebhookEvent.SUBSCRIBER_CONFIRMED, {
            "subscriber": subscriber_data(subscriber, slugs),
            "confirmed_topics": _topic_slugs(set(confirmed[subscriber.id]), slugs)}, endpoints)])
    return len(ids)


def mailing_sent(mailing_id: int) -> list[int]:
    """Emit mailing.sent for a mailing that has just gone out, with its delivery ledger counted by status."""
    mailing = db.session.get(Mailing, mailing_id)
    db.session.refresh(mailing)  # its status was moved by a bulk UPDATE
    counts = dict(db.session.execute(select(Delivery.status, func.count()).where(Delivery.mailing_id == mailing_id)
                                     .group_by(Delivery.status)).all())
    return emit(WebhookEvent.MAILING_SENT, {"mailing": {
        "id": mailing.id, "kind": str(mailing.kind), "subject": {"da": mailing.subject_for("da"), "en": mailing.subject_for("en")},
        "finished_at": mailing.finished_at.isoformat(timespec="seconds") if mailing.finished_at else None,
        "deliveries": {str(status): count for status, count in counts.items()}}})
