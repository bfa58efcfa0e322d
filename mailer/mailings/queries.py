"""Read-only look-ups of mailings (and the events a draft may be about) for the staff pages and the public archive."""
from __future__ import annotations

from sqlalchemy import select

from mailer.extensions import db
from mailer.models import Event, Mailing, MailingKind, MailingStatus
from mailer.models.mailing import REACHED_PEOPLE
from mailer import clock

LIST_LIMIT = 500


def get_mailing(mailing_id: int) -> Mailing | None:
    """Return the mailing with this id, or None."""
    return db.session.get(Mailing, mailing_id)


def list_mailings(limit: int = LIST_LIMIT) -> list[Mailing]:
    """Return the newest mailings first, every kind and status."""
    return list(db.session.scalars(
        select(Mailing).order_by(Mailing.created_at.desc(), Mailing.id.desc()).limit(limit)))


def archived_mailings(limit: int = LIST_LIMIT) -> list[Mailing]:
    """Return the sent mailings that have a public copy, newest first."""
    # A digest is different for each reader: there is no public copy of it.
    return list(db.session.scalars(
        select(Mailing).where(Mailing.status == MailingStatus.SENT, Mailing.kind != MailingKind.DIGEST)
        .order_by(Mailing.finished_at.desc(), Mailing.id.desc()).limit(limit)))


def archived_mailing(mailing_id: int) -> Mailing | None:
    """Return the mailing if it has a public copy, else None.

    That is every mailing but a digest from the moment it starts sending: a reader's "view in
    browser" works while the rest of the list is still being sent (or after staff stopped it).
    """
    mailing = db.session.get(Mailing, mailing_id)
    if mailing is None or mailing.kind == MailingKind.DIGEST:
        return None
    if mailing.status == MailingStatus.SENT:
        return mailing
    started = mailing.started_at is not None
    return mailing if started and mailing.status in (*REACHED_PEOPLE, MailingStatus.CANCELLED) else None


def events_to_offer(chosen: Event | None = None) -> list[Event]:
    """Return the upcoming events, soonest first, plus the chosen one even if it has passed."""
    events = list(db.session.scalars(select(Event).where(Event.starts_at >= clock.utcnow()).order_by(Event.starts_at)))
    if chosen is not None and chosen not in events:
        events.insert(0, chosen)
    return events


def event_exists(event_id: int) -> bool:
    """Return True if there is an event with this id."""
    return db.session.get(Event, event_id) is not None
