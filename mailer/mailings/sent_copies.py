"""What a mailing said when it went out: its archive copies, and the event details it carried.

When a mailing starts sending (mailer.mailings.states.start), in the same transaction:

- its public copy is rendered once per language it can go out in and stored (MailingCopy), so
  the archive ("view in browser") shows what was sent, not the event as it is now;
- the event's time and place are stored with it (Mailing.sent_event_details), so staff can be
  told when readers hold other details in their calendars than the event has now.

A digest differs for each reader and has no public copy. A custom template that no longer
renders leaves no copy (the archive then renders the mailing as it is, or answers 404).
"""
from __future__ import annotations

import json
import logging
from datetime import datetime

from sqlalchemy import select

from mailer.composing.mailing import CompiledMailing
from mailer.extensions import db
from mailer.languages import LANGUAGES
from mailer.models import Event, EventStatus, Mailing, MailingCopy, MailingKind
from mailer import clock

log = logging.getLogger(__name__)


def _moment(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def event_details(event: Event) -> str:
    """The event's time and place as one comparable string: what a calendar entry holds of it."""
    # The one place that lists what "time and place" is made of.
    return json.dumps({
        "starts_at": _moment(event.starts_at),
        "ends_at": _moment(event.ends_at),
        "venue": [event.venue_da, event.venue_en],
        "city": event.city,
        "is_online": bool(event.is_online),
        "online_url": event.online_url,
        "sessions": [[_moment(s.starts_at), _moment(s.ends_at)] for s in event.sessions],
    }, sort_keys=True)


def copy_languages(mailing: Mailing) -> tuple[str, ...]:
    """The languages the mailing goes out in: its audience's, or every language when it has none."""
    return (mailing.audience_language,) if mailing.audience_language else tuple(LANGUAGES)


def take_copies(mailing: Mailing) -> int:
    """Store the mailing's archive copy per language and its event's details; the caller commits.

    Taking them again (a start that is retried) replaces nothing: the first copy is what went out.
    """
    if mailing.event is not None and mailing.sent_event_details is None:
        mailing.sent_event_details = event_details(mailing.event)
    if mailing.kind == MailingKind.DIGEST:
        return 0
    have = set(db.session.scalars(select(MailingCopy.language).where(MailingCopy.mailing_id == mailing.id)))
    taken = 0
    for language in copy_languages(mailing):
        if language in have:
            continue
        try:
            message = CompiledMailing(mailing, language, web_version=True).public_copy()
        except ValueError:  # a custom template that no longer renders: the engine will record why
            log.warning("mailing %s: no archive copy in %s, its template does not render", mailing.id, language)
            continue
        except Exception:  # noqa: BLE001 - a missing archive copy must never stop the mail itself
            log.exception("mailing %s: no archive copy in %s", mailing.id, language)
            continue
        db.session.add(MailingCopy(mailing_id=mailing.id, language=language, subject=message.subject,
                                   html=str(message.html), text=str(message.text), taken_at=clock.utcnow()))
        taken += 1
    db.session.flush()
    return taken


def sent_copy(mailing_id: int, language: str) -> MailingCopy | None:
    """The copy taken when the mailing started, in this language (else in another), or None."""
    copies = {c.language: c for c in db.session.scalars(select(MailingCopy).where(MailingCopy.mailing_id == mailing_id))}
    return copies.get(language) or next(iter(copies.values()), None)


def changed_since_sent(mailing: Mailing) -> str | None:
    """"cancelled" or "moved" when the mailing's event has changed since it went out, else None."""
    event = mailing.event
    if event is None:
        return None
    if event.status == EventStatus.CANCELLED and mailing.kind != MailingKind.CANCELLATION:
        return "cancelled"
    if mailing.sent_event_details is not None and mailing.sent_event_details != event_details(event):
        return "moved"
    return None
