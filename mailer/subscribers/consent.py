"""Write facts to the consent ledger."""
from __future__ import annotations

from dataclasses import dataclass

from mailer.extensions import db
from mailer.models import ConsentAction, ConsentChannel, ConsentEvent, Subscriber

# Bump when the consent text shown on the signup form changes; each signup records it.
CONSENT_VERSION = "2026-11-1"


@dataclass(frozen=True)
class Origin:
    """Who or what caused a change, for the ledger."""

    channel: ConsentChannel
    ip: str | None = None
    user_agent: str | None = None


def record(
    subscriber: Subscriber,
    action: ConsentAction,
    origin: Origin,
    *,
    topic_id: int | None = None,
    consent_version: str | None = None,
    detail: str | None = None,
) -> None:
    """Append one consent event for a subscriber."""
    if subscriber.id is None:
        db.session.add(subscriber)
        db.session.flush()
    db.session.add(
        ConsentEvent(
            subscriber_id=subscriber.id,
            topic_id=topic_id,
            action=action,
            channel=origin.channel,
            consent_version=consent_version,
            ip=origin.ip,
            user_agent=(origin.user_agent or "")[:300] or None,
            detail=detail,
        )
    )
