"""Hard bounces and spam complaints: stop mailing the address, and say why in the ledger.

Callers commit. Every function here can run twice with the same input and changes
nothing the second time, because bounce reports are retried and replayed.
"""
from __future__ import annotations

import logging
from typing import Any

from mailer.models import ConsentAction, ConsentChannel, Subscriber, SubscriberStatus, WebhookEvent
from mailer.outbound_webhooks import events as webhook_events
from mailer.subscribers.consent import Origin, record
from mailer.subscribers.lifecycle import find_subscriber, unsubscribe

log = logging.getLogger(__name__)

DETAIL_LENGTH = 300  # ConsentEvent.detail
EVENT_TYPES = ("bounce", "complaint")
BOUNCE_TYPES = ("hard", "soft")
_HEADER_BREAKERS = ("\r", "\n", "\x00")


def _detail(reason: str) -> str | None:
    return reason.strip()[:DETAIL_LENGTH] or None


def record_hard_bounce(subscriber: Subscriber, reason: str) -> bool:
    """Mark the address as bouncing; return False if it already was."""
    if subscriber.status == SubscriberStatus.BOUNCED:
        return False
    subscriber.status = SubscriberStatus.BOUNCED
    record(subscriber, ConsentAction.BOUNCED, Origin(ConsentChannel.BOUNCE), detail=_detail(reason))
    log.info("subscriber %s hard-bounced", subscriber.id)
    webhook_events.subscriber_event(WebhookEvent.SUBSCRIBER_BOUNCED, subscriber, reason=_detail(reason))
    return True


def record_complaint(subscriber: Subscriber, reason: str) -> bool:
    """Unsubscribe the address from every topic after a spam complaint; return False if nothing changed."""
    was = subscriber.status
    detail = _detail(f"complaint: {reason.strip()}" if reason.strip() else "complaint")
    changed = unsubscribe(subscriber, Origin(ConsentChannel.BOUNCE), None, detail=detail)
    if not changed and subscriber.status == was:
        return False
    log.info("subscriber %s complained; left %s topics", subscriber.id, changed)
    return True


def _text(payload: dict[str, Any], field: str, *, required: bool = False, default: str = "") -> str:
    value = payload.get(field)
    if value is None:
        if required:
            raise ValueError(f'"{field}" is missing')
        return default
    if not isinstance(value, str):
        raise ValueError(f'"{field}" must be a string')
    return value


def _check_address(email: str) -> str:
    email = email.strip()
    if not email:
        raise ValueError('"email" is empty')
    if len(email) > 254 or "@" not in email or any(c in email for c in _HEADER_BREAKERS):
        raise ValueError('"email" is not an email address')
    return email


def handle_bounce_event(payload: dict) -> str:
    """Apply one bounce or complaint report; return the outcome; raise ValueError if it is malformed.

    Outcomes: "bounced", "unsubscribed", "ignored" (a soft bounce) or "unknown address".
    A replayed report gets the same outcome and changes nothing.
    """
    if not isinstance(payload, dict):
        raise ValueError("an event must be a JSON object")
    kind = _text(payload, "type", required=True)
    if kind not in EVENT_TYPES:
        raise ValueError(f'"type" must be one of {", ".join(EVENT_TYPES)}')
    email = _check_address(_text(payload, "email", required=True))
    reason = _text(payload, "reason")
    bounce_type = _text(payload, "bounce_type", default="hard")
    if bounce_type not in BOUNCE_TYPES:
        raise ValueError(f'"bounce_type" must be one of {", ".join(BOUNCE_TYPES)}')

    subscriber = find_subscriber(email)
    if subscriber is None:
        log.info("%s report for an address we do not know", kind)
        return "unknown address"
    if kind == "complaint":
        record_complaint(subscriber, reason)
        return "unsubscribed"
    if bounce_type == "soft":
        # Full mailbox, greylisting, a server down: the next mail may well arrive.
        log.info("subscriber %s soft-bounced: %r", subscriber.id, reason[:DETAIL_LENGTH])
        return "ignored"
    record_hard_bounce(subscriber, reason)
    return "bounced"
