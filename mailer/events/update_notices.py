"""Telling readers that an announced event has moved: who still has the old details, and the update notice.

Each mailing of an event stores the time and place it carried when it started sending
(mailer.mailings.sent_copies). When the newest mailing that reached an announcement's readers
(the announcement, a reminder or an earlier update) carried other details than the event has
now, those readers hold the old time or place in their calendars: staff are told how many, and
offered an update notice, prefilled like the cancellation notice (mailer.events.mailing_texts),
to the same people: those who got the announcement and are still subscribed. Its .ics has the
event's UID and its higher SEQUENCE, so calendars move the entry they have.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass

from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select

from mailer.events.mailing_texts import update_texts, versions
from mailer.extensions import db
from mailer.mailings import drafts
from mailer.mailings.sent_copies import event_details
from mailer.models import Event, EventStatus, Mailing, MailingKind, StaffUser
from mailer.models.mailing import EDITABLE, REACHED_PEOPLE
from mailer.sending.audience import eligible_subscribers

log = logging.getLogger(__name__)

CARRY_THE_EVENT = (MailingKind.ANNOUNCEMENT, MailingKind.REMINDER, MailingKind.UPDATE)


class UpdateNoticeRefused(ValueError):
    """The update notice cannot be made; `message` says why, in the reader's language."""

    def __init__(self, message) -> None:
        super().__init__(str(message))
        self.message = message


@dataclass(frozen=True)
class OutOfDate:
    """An announcement whose readers hold older details of the event than it has now."""

    announcement: Mailing
    readers: int                    # who would get the update notice now
    waiting_notice: Mailing | None  # a drafted or scheduled update notice not sent yet


def _children(parent_id: int) -> list[Mailing]:
    return list(db.session.scalars(select(Mailing).where(Mailing.parent_id == parent_id).order_by(Mailing.id)))


def _waiting_notice(children: list[Mailing]) -> Mailing | None:
    return next((m for m in children if m.kind == MailingKind.UPDATE and m.status in EDITABLE), None)


def _latest_details(announcement: Mailing, children: list[Mailing]) -> str | None:
    """The event details the readers got last: from the newest mailing that reached them."""
    carried = [m for m in (announcement, *children)
               if m.kind in CARRY_THE_EVENT and m.status in REACHED_PEOPLE and m.sent_event_details]
    if not carried:
        return None
    return max(carried, key=lambda m: (m.started_at, m.id)).sent_event_details


def readers_of(announcement: Mailing) -> int:
    """How many would get an update notice of this announcement now (the audience rule, stated once)."""
    # Never added to the session: only the audience query reads it.
    notice = Mailing(kind=MailingKind.UPDATE, parent_id=announcement.id,
                     audience_language=announcement.audience_language)
    notice.topics = list(announcement.topics)
    count = db.session.scalar(select(func.count()).select_from(eligible_subscribers(notice).subquery()))
    return count or 0


def calendars_out_of_date(event: Event) -> list[OutOfDate]:
    """The event's announcements whose readers last heard other details than it has now, with how many they are."""
    if event.status == EventStatus.CANCELLED:
        return []  # the cancellation notice is what they need
    now = event_details(event)
    result = []
    for announcement in db.session.scalars(select(Mailing).where(
            Mailing.event_id == event.id, Mailing.kind == MailingKind.ANNOUNCEMENT,
            Mailing.status.in_(REACHED_PEOPLE)).order_by(Mailing.id)):
        children = _children(announcement.id)
        latest = _latest_details(announcement, children)
        if latest is None or latest == now:
            continue
        readers = readers_of(announcement)
        if readers:
            result.append(OutOfDate(announcement, readers, _waiting_notice(children)))
    return result


def draft_update_notice(parent_id: int, staff_user: StaffUser | None) -> tuple[Mailing, bool]:
    """Create the prefilled update notice to those who got the announcement (commits).

    Returns the notice and whether it is new: one not sent yet is given again, so a double
    click does not make two.
    """
    parent = db.session.get(Mailing, parent_id)
    if parent is None or parent.kind != MailingKind.ANNOUNCEMENT or parent.event is None:
        raise UpdateNoticeRefused(_l("That is not the announcement of an event."))
    event = parent.event
    if event.status == EventStatus.CANCELLED:
        raise UpdateNoticeRefused(_l("The event is cancelled: write the cancellation mail instead."))
    if parent.status not in REACHED_PEOPLE:
        raise UpdateNoticeRefused(_l("That mailing was never sent, so nobody needs to hear of the change."))
    children = _children(parent.id)
    existing = _waiting_notice(children)
    if existing is not None:
        return existing, False
    latest = _latest_details(parent, children)
    if latest is None or latest == event_details(event):
        raise UpdateNoticeRefused(_l("Its readers already have the event's time and place as they are now."))
    notice = drafts.create_draft(
        drafts.DraftData(**versions(update_texts(event)), audience_language=parent.audience_language,
                         topic_ids=[t.id for t in parent.topics], event_id=event.id, template_id=parent.template_id),
        created_by_id=staff_user.id if staff_user is not None else None,
        kind=MailingKind.UPDATE, parent_id=parent.id,
    )
    log.info("event %s update notice %s drafted for mailing %s", event.id, notice.id, parent.id)
    return notice, True
