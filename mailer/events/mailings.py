"""Mailings about an event: its announcement in one step, and what changes when it is cancelled.

The announcement's audience follows the event: its topics and its language. The language
is the event's own, not "both languages": the prefilled text is written in the event's
language, and a subscriber who chose English mail should not get a Danish text under an
English greeting (staff can still widen it in the form, after writing a text that suits both).
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, field

from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from mailer.announcements import drafts
from mailer.events.mailing_texts import announcement_text, cancellation_text
from mailer.events.reminders import Outcome, ReminderNote
from mailer.events.service import has_ended
from mailer.extensions import db
from mailer.models import Announcement, AnnouncementKind, AnnouncementStatus, Event, EventStatus, StaffUser
from mailer.sending import campaign

log = logging.getLogger(__name__)

# An announcement in one of these has reached (or is reaching) people, who should hear of a cancellation.
REACHED_PEOPLE = (AnnouncementStatus.SENDING, AnnouncementStatus.PAUSED, AnnouncementStatus.SENT)
# Not yet (fully) out: staff should look at these when the event is cancelled.
NOT_YET_OUT = (AnnouncementStatus.DRAFT, AnnouncementStatus.SCHEDULED, AnnouncementStatus.SENDING,
               AnnouncementStatus.PAUSED)


class EventMailingRefused(ValueError):
    """The mailing cannot be made; `message` says why, in the reader's language."""

    def __init__(self, message) -> None:
        super().__init__(str(message))
        self.message = message


def mailings_of(event_id: int) -> list[Announcement]:
    """Every announcement, reminder and cancellation notice of an event, oldest first."""
    return list(db.session.scalars(
        select(Announcement).where(Announcement.event_id == event_id)
        .order_by(Announcement.created_at, Announcement.id)
    ))


def draft_event_announcement(event: Event, staff_user: StaffUser | None) -> Announcement:
    """Create a draft announcement of the event, filled in from it, for staff to edit (commits)."""
    if event.status == EventStatus.CANCELLED:
        raise EventMailingRefused(_l("The event is cancelled, so it cannot be announced."))
    if has_ended(event):
        raise EventMailingRefused(_l("The event is over, so it cannot be announced."))
    if not event.topics:
        raise EventMailingRefused(_l(
            "Give the event at least one topic first: the announcement goes to the subscribers of its topics."))
    text = announcement_text(event)
    announcement = drafts.create_draft(
        drafts.DraftData(subject=text.subject, preheader=text.preheader, body_markdown=text.body_markdown,
                         language=event.language, topic_ids=[t.id for t in event.topics], event_id=event.id),
        created_by_id=staff_user.id if staff_user is not None else None,
    )
    log.info("event %s announcement %s drafted", event.id, announcement.id)
    return announcement


def _active_cancellation_notice(parent_id: int) -> Announcement | None:
    return db.session.scalar(
        select(Announcement)
        .where(Announcement.parent_id == parent_id, Announcement.kind == AnnouncementKind.CANCELLATION,
               Announcement.status != AnnouncementStatus.CANCELLED)
        .order_by(Announcement.id).limit(1)
    )


def needs_cancellation_notice(event: Event) -> list[Announcement]:
    """The event's announcements that reached people and have no cancellation notice yet."""
    if event.status != EventStatus.CANCELLED:
        return []
    return [a for a in mailings_of(event.id)
            if a.kind == AnnouncementKind.ANNOUNCEMENT and a.status in REACHED_PEOPLE
            and _active_cancellation_notice(a.id) is None]


def draft_cancellation_notice(parent_id: int, staff_user: StaffUser | None) -> tuple[Announcement, bool]:
    """Create the prefilled cancellation notice to those who got the announcement (commits).

    Returns the notice and whether it is new: asking twice gives the notice made the first
    time, so a double click does not make two.
    """
    parent = db.session.get(Announcement, parent_id)
    if parent is None or parent.kind != AnnouncementKind.ANNOUNCEMENT or parent.event is None:
        raise EventMailingRefused(_l("That is not the announcement of an event."))
    event = parent.event
    if event.status != EventStatus.CANCELLED:
        raise EventMailingRefused(_l("The event is not cancelled."))
    if parent.status not in REACHED_PEOPLE:
        raise EventMailingRefused(_l("That announcement was never sent, so nobody needs to hear of the cancellation."))
    existing = _active_cancellation_notice(parent.id)
    if existing is not None:
        return existing, False
    text = cancellation_text(event)
    notice = drafts.create_draft(
        drafts.DraftData(subject=text.subject, preheader=text.preheader, body_markdown=text.body_markdown,
                         language=parent.language, topic_ids=[t.id for t in parent.topics], event_id=event.id,
                         template_id=parent.template_id),
        created_by_id=staff_user.id if staff_user is not None else None,
        kind=AnnouncementKind.CANCELLATION, parent_id=parent.id,
    )
    log.info("event %s cancellation notice %s drafted for announcement %s", event.id, notice.id, parent.id)
    return notice, True


@dataclass
class Withdrawal:
    """What cancelling an event did to its mailings, and what staff should do next."""

    cancelled_reminders: list[ReminderNote] = field(default_factory=list)
    not_yet_out: list[Announcement] = field(default_factory=list)   # the event's own announcements to look at
    needs_notice: list[Announcement] = field(default_factory=list)  # offer a cancellation notice for these


def withdraw_event_mailings(event: Event) -> Withdrawal:
    """Cancel the reminders of a cancelled event and list what staff should look at.

    Safe to repeat: a second call finds nothing left to cancel. Reminders that are sending
    are stopped too (a reminder of a cancelled event is wrong). The event's announcements
    themselves are only listed: whether to stop one is the staff's decision.
    """
    withdrawal = Withdrawal()
    for mailing in mailings_of(event.id):
        if mailing.kind == AnnouncementKind.REMINDER and mailing.status in NOT_YET_OUT:
            try:
                campaign.cancel(mailing.id)
            except campaign.InvalidTransition:
                continue  # finished in the meantime
            withdrawal.cancelled_reminders.append(ReminderNote(
                Outcome.CANCELLED_EVENT, mailing.remind_days_before or 0, mailing.id, mailing.scheduled_at))
        elif mailing.kind == AnnouncementKind.ANNOUNCEMENT and mailing.status in NOT_YET_OUT:
            withdrawal.not_yet_out.append(mailing)
    withdrawal.needs_notice = needs_cancellation_notice(event)
    if withdrawal.cancelled_reminders:
        log.info("event %s cancelled: reminders %s cancelled", event.id,
                 [n.reminder_id for n in withdrawal.cancelled_reminders])
    return withdrawal
