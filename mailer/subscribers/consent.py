"""Write facts to the consent ledger."""
from __future__ import annotations

from dataclasses import dataclass

from mailer.extensions import db
from mailer.models import ConsentAction, ConsentChannel, ConsentEvent, Subscriber, Topic

# Bump when the consent text shown on the signup form changes; each signup records it.
CONSENT_VERSION = "2026-11-1"


@dataclass(frozen=True)
class Origin:
    """Who or what caused a change, for the ledger."""

    channel: ConsentChannel
    ip: str | None = None
    user_agent: str | None = None
    mailing_id: int | None = None  # the mailing whose link was used (an unsubscribe from a mail)


def record(
    subscriber: Subscriber,
    action: ConsentAction,
    origin: Origin,
    *,
    topic_id: int | None = None,
    consent_version: str | None = None,
    detail: str | None = None,
) -> None:
    """Append one consent event for a subscriber.

    The topic's name is stored as text, in the subscriber's language: what they agreed to stays
    what they saw, whatever staff later rename or delete.
    """
    if subscriber.id is None:
        db.session.add(subscriber)
        db.session.flush()
    topic = db.session.get(Topic, topic_id) if topic_id is not None else None
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
            topic_name=topic.name(subscriber.language) if topic is not None else None,
            mailing_id=origin.mailing_id,
        )
    )
