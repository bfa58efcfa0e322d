"""Mailings about an event: its mailing in one step, and what changes when it is cancelled.

The mailing's audience follows the event's topics, in both languages: each version is
filled in from the event's own text in that language (mailing_texts), and every subscriber
gets the version in theirs.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, field

from flask_babel import lazy_gettext as _l
from sqlalchemy import select, update

from mailer.mailings import drafts
from mailer.events.mailing_texts import (
    MailText,
    announcement_texts,
    cancellation_texts,
    reminder_texts,
    versions,
)
from mailer.events.reminders import ReminderOutcome, ReminderNote, retime_reminders
from mailer.events.service import EventData, has_ended, update_event
from mailer.extensions import db
from mailer.models import Mailing, MailingKind, MailingStatus, Event, EventStatus, StaffUser
from mailer.models.mailing import CANCELLABLE, EDITABLE, REACHED_PEOPLE
from mailer.mailings import states

log = logging.getLogger(__name__)



class EventMailingRefused(ValueError):
    """The mailing cannot be made; `message` says why, in the reader's language."""

    def __init__(self, message) -> None:
        super().__init__(str(message))
        self.message = message


def mailings_of(event_id: int) -> list[Mailing]:
    """Every announcement, reminder and cancellation notice of an event, oldest first."""
    return list(db.session.scalars(
        select(Mailing).where(Mailing.event_id == event_id)
        .order_by(Mailing.created_at, Mailing.id)
    ))


def draft_event_mailing(event: Event, staff_user: StaffUser | None) -> Mailing:
    """Create a draft mailing of the event, filled in from it, for staff to edit (commits)."""
    if event.status == EventStatus.CANCELLED:
        raise EventMailingRefused(_l("The event is cancelled, so it cannot be announced."))
    if has_ended(event):
        raise EventMailingRefused(_l("The event is over, so it cannot be announced."))
    if not event.topics:
        raise EventMailingRefused(_l(
            "Give the event at least one topic first: the mailing goes to the subscribers of its topics."))
    mailing = drafts.create_draft(
        drafts.DraftData(**versions(announcement_texts(event)), topic_ids=[t.id for t in event.topics],
                         event_id=event.id),
        created_by_id=staff_user.id if staff_user is not None else None,
    )
    log.info("event %s mailing %s drafted", event.id, mailing.id)
    return mailing


def _active_cancellation_notice(parent_id: int) -> Mailing | None:
    return db.session.scalar(
        select(Mailing)
        .where(Mailing.parent_id == parent_id, Mailing.kind == MailingKind.CANCELLATION,
               Mailing.status != MailingStatus.CANCELLED)
        .order_by(Mailing.id).limit(1)
    )


def needs_cancellation_notice(event: Event) -> list[Mailing]:
    """The event's mailings that reached people and have no cancellation notice yet."""
    if event.status != EventStatus.CANCELLED:
        return []
    return [a for a in mailings_of(event.id)
            if a.kind == MailingKind.ANNOUNCEMENT and a.status in REACHED_PEOPLE
            and _active_cancellation_notice(a.id) is None]


def draft_cancellation_notice(parent_id: int, staff_user: StaffUser | None) -> tuple[Mailing, bool]:
    """Create the prefilled cancellation notice to those who got the mailing (commits).

    Returns the notice and whether it is new: asking twice gives the notice made the first
    time, so a double click does not make two.
    """
    parent = db.session.get(Mailing, parent_id)
    if parent is None or parent.kind != MailingKind.ANNOUNCEMENT or parent.event is None:
        raise EventMailingRefused(_l("That is not the announcement of an event."))
    event = parent.event
    if event.status != EventStatus.CANCELLED:
        raise EventMailingRefused(_l("The event is not cancelled."))
    if parent.status not in REACHED_PEOPLE:
        raise EventMailingRefused(_l("That mailing was never sent, so nobody needs to hear of the cancellation."))
    existing = _active_cancellation_notice(parent.id)
    if existing is not None:
        return existing, False
    notice = drafts.create_draft(
        drafts.DraftData(**versions(cancellation_texts(event)), audience_language=parent.audience_language,
                         topic_ids=[t.id for t in parent.topics], event_id=event.id, template_id=parent.template_id),
        created_by_id=staff_user.id if staff_user is not None else None,
        kind=MailingKind.CANCELLATION, parent_id=parent.id,
    )
    log.info("event %s cancellation notice %s drafted for mailing %s", event.id, notice.id, parent.id)
    return notice, True


def _prefilled_text(mailing: Mailing, event: Event) -> dict[str, str] | None:
    """The columns (subject_da, …) we fill a mailing of this kind in with, for the event as it is now."""
    texts: dict[str, MailText]
    if mailing.kind == MailingKind.ANNOUNCEMENT:
        texts = announcement_texts(event)
    elif mailing.kind == MailingKind.REMINDER and mailing.remind_days_before:
        texts = reminder_texts(event, mailing.remind_days_before)
    elif mailing.kind == MailingKind.CANCELLATION:
        texts = cancellation_texts(event)
    else:
        return None
    return versions(texts)


@dataclass
class EventUpdate:
    """What an edit of an event did to its mailings that have not gone out yet."""

    reminder_notes: list[ReminderNote] = field(default_factory=list)
    refreshed_ids: list[int] = field(default_factory=list)  # prefilled texts brought up to date


def update_event_and_mailings(event: Event, data: EventData) -> EventUpdate:
    """Edit the event, re-time its waiting reminders, and update the prefilled texts nobody has changed.

    A field of a waiting mailing (subject, preheader, text, in either language) that still
    reads exactly as we filled it in gets the new date and place; one that staff edited is
    theirs and stays.
    Runs in the caller's transaction (the caller commits), so all of it happens or none.
    """
    waiting = [m for m in mailings_of(event.id) if m.status in EDITABLE]
    before = {m.id: _prefilled_text(m, event) for m in waiting}
    update_event(event, data)
    result = EventUpdate(reminder_notes=retime_reminders(event))
    for mailing in waiting:
        old, new = before[mailing.id], _prefilled_text(mailing, event)
        if old is None or new is None:
            continue
        changes = {column: value for column, value in new.items()
                   if getattr(mailing, column) == old[column] != value}
        if not changes:
            continue
        # Only while it can still be edited: one that has just started keeps what it is sending.
        done = db.session.execute(
            update(Mailing).where(Mailing.id == mailing.id, Mailing.status.in_(EDITABLE))
            .values(**changes).execution_options(synchronize_session=False)
        ).rowcount
        if done:
            result.refreshed_ids.append(mailing.id)
    return result


@dataclass
class Withdrawal:
    """What cancelling an event did to its mailings, and what staff should do next."""

    cancelled_reminders: list[ReminderNote] = field(default_factory=list)
    not_yet_out: list[Mailing] = field(default_factory=list)   # the event's own mailings to look at
    needs_notice: list[Mailing] = field(default_factory=list)  # offer a cancellation notice for these


def withdraw_event_mailings(event: Event) -> Withdrawal:
    """Cancel the reminders of a cancelled event and list what staff should look at.

    Safe to repeat: a second call finds nothing left to cancel. Reminders that are sending
    are stopped too (a reminder of a cancelled event is wrong). The event's mailings
    themselves are only listed: whether to stop one is the staff's decision.
    """
    withdrawal = Withdrawal()
    for mailing in mailings_of(event.id):
        if mailing.kind == MailingKind.REMINDER and mailing.status in CANCELLABLE:
            try:
                states.cancel(mailing.id)
            except states.InvalidTransition:
                continue  # finished in the meantime
            withdrawal.cancelled_reminders.append(ReminderNote(
                ReminderOutcome.CANCELLED_EVENT, mailing.remind_days_before or 0, mailing.id, mailing.scheduled_at))
        elif mailing.kind == MailingKind.ANNOUNCEMENT and mailing.status in CANCELLABLE:
            withdrawal.not_yet_out.append(mailing)
    withdrawal.needs_notice = needs_cancellation_notice(event)
    if withdrawal.cancelled_reminders:
        log.info("event %s cancelled: reminders %s cancelled", event.id,
                 [n.reminder_id for n in withdrawal.cancelled_reminders])
    return withdrawal
