"""The digest made by hand: who would get which events (the preview), and making it now.

For `flask digest preview|send-now` and the staff digest page. The preview asks the same
rules the digest's snapshot does (mailer.sending.digest_audience), as of now, and writes nothing.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select

from mailer.extensions import db
from mailer.mailings.digests import MADE_EARLY, create_digest_now, last_digest_made
from mailer.models import Event, Mailing, MailingKind, Subscriber, Topic
from mailer.sending.digest_audience import would_get

PREVIEW_LIMIT = 200  # readers listed on the page; the total counts them all


@dataclass(frozen=True)
class PreviewLine:
    email: str
    language: str
    frequency: str
    events: tuple[tuple[str, bool], ...]  # (title, new) in the order the digest lists them


@dataclass(frozen=True)
class DigestPreview:
    lines: tuple[PreviewLine, ...]  # at most PREVIEW_LIMIT
    total: int                      # readers who would get a digest
    recent: Mailing | None          # a digest made in the last MADE_EARLY: send-now gives that one back


def preview_digest(now: datetime, limit: int = PREVIEW_LIMIT) -> DigestPreview:
    """Who would get a digest made now, and which events it would list for each (new ones marked)."""
    draft = Mailing(kind=MailingKind.DIGEST, scheduled_at=now, audience_language=None)  # never added to the session
    draft.topics = list(db.session.scalars(select(Topic).order_by(Topic.position, Topic.id)))
    chosen = would_get(draft)
    shown = chosen[:limit]
    subscribers = {s.id: s for s in db.session.scalars(
        select(Subscriber).where(Subscriber.id.in_([subscriber_id for subscriber_id, _ in shown])))}
    event_ids = {event_id for _, payload in shown for event_id in payload.events}
    titles = {e.id: e.display_title for e in db.session.scalars(select(Event).where(Event.id.in_(event_ids)))}
    lines = tuple(
        PreviewLine(subscribers[subscriber_id].email, subscribers[subscriber_id].language,
                    subscribers[subscriber_id].frequency,
                    tuple((titles.get(event_id, "?"), event_id in payload.new) for event_id in payload.events))
        for subscriber_id, payload in shown
    )
    return DigestPreview(lines, len(chosen), last_digest_made(now - MADE_EARLY))


__all__ = ["DigestPreview", "PreviewLine", "create_digest_now", "preview_digest"]
