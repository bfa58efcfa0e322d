"""Reminders before an event: scheduled mailings that follow the event when it moves.

A reminder is a Mailing of kind REMINDER whose parent is the event's mailing. It
goes out a whole number of days before the event, at the same Copenhagen clock time (so "one
day before" a 10:00 event is 10:00 the day before, across a change to or from summer time),
to those who got the parent and are still subscribed (see mailer.sending.audience).
"""
from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from enum import StrEnum

from flask_babel import lazy_gettext as _l
from sqlalchemy import delete, select, update

from mailer.events.mailing_texts import reminder_texts, versions
from mailer.clock import COPENHAGEN, utc_to_local
from mailer.extensions import db
from mailer.models import Mailing, MailingKind, MailingStatus, Event, EventStatus
from mailer.models.mailing import REACHED_PEOPLE
from mailer import clock

log = logging.getLogger(__name__)

SUGGESTED_DAYS = (7, 1)
MIN_DAYS, MAX_DAYS = 1, 60
MAX_REMINDERS = 5


class ReminderRefused(ValueError):
    """Reminders cannot be set as asked; `message` says why, in the reader's language."""

    def __init__(self, message) -> None:
        super().__init__(str(message))
        self.message = message


class ReminderOutcome(StrEnum):
    CREATED = "created"
    KEPT = "kept"
    RETIMED = "retimed"
    REMOVED = "removed"                        # unticked (or the mailing went back to draft)
    SKIPPED_PAST = "skipped_past"              # its time has already passed: not created
    SKIPPED_EARLY = "skipped_early"            # it would go before the mailing itself
    CANCELLED_PAST = "cancelled_past"          # the event moved and the new time has passed
    CANCELLED_EARLY = "cancelled_early"        # the event moved and it would now go before the mailing
    CANCELLED_EVENT = "cancelled_event"        # the event is cancelled


@dataclass(frozen=True)
class ReminderNote:
    """What happened to one reminder, for the staff page."""

    outcome: ReminderOutcome
    days_before: int
    reminder_id: int | None = None
    old_time: datetime | None = None
    new_time: datetime | None = None


def reminder_time(starts_at: datetime, days_before: int) -> datetime:
    """The moment `days_before` days before the start, at the same Copenhagen clock time (aware UTC).

    A clock time that does not exist that day (the spring-forward hour) moves on by the gap;
    one that happens twice means its first occurrence.
    """
    local = utc_to_local(starts_at).replace(tzinfo=None) - timedelta(days=days_before)
    return local.replace(tzinfo=COPENHAGEN, fold=0).astimezone(timezone.utc)


def checked_days(days: Iterable[int]) -> list[int]:
    """Distinct reminder days, largest first; raise ReminderRefused for any out of range."""
    wanted = sorted(set(days), reverse=True)
    for value in wanted:
        if not MIN_DAYS <= value <= MAX_DAYS:
            raise ReminderRefused(_l("A reminder can be from %(low)s to %(high)s days before the event.",
                                     low=MIN_DAYS, high=MAX_DAYS))
    if len(wanted) > MAX_REMINDERS:
        raise ReminderRefused(_l("At most %(count)s reminders per announcement.", count=MAX_REMINDERS))
    return wanted


def reminders_of(mailing_id: int) -> list[Mailing]:
    """The reminders of a mailing, the earliest first."""
    return list(db.session.scalars(
        select(Mailing)
        .where(Mailing.parent_id == mailing_id, Mailing.kind == MailingKind.REMINDER)
        .order_by(Mailing.scheduled_at, Mailing.id)
    ))


def pending_reminder_days(mailing_id: int) -> list[int]:
    """The days-before of the reminders still waiting to go out (to pre-tick the form)."""
    return sorted({r.remind_days_before for r in reminders_of(mailing_id)
                   if r.status == MailingStatus.SCHEDULED and r.remind_days_before}, reverse=True)


def can_have_reminders(mailing: Mailing) -> bool:
    """Only a mailing of an event (not a reminder or a notice) gets reminders."""
    return mailing.kind == MailingKind.ANNOUNCEMENT and mailing.event_id is not None


def check_reminders(mailing: Mailing, days: Iterable[int], now: datetime | None = None) -> list[int]:
    """Refuse reminders that cannot be: bad days, or an event that is cancelled or has begun."""
    wanted = checked_days(days)
    if not wanted:
        return wanted
    event = mailing.event
    if not can_have_reminders(mailing) or event is None:
        raise ReminderRefused(_l("Only the announcement of an event can have reminders."))
    if event.status == EventStatus.CANCELLED:
        raise ReminderRefused(_l("The event is cancelled, so it gets no reminders."))
    if event.starts_at <= (now or clock.utcnow()):
        raise ReminderRefused(_l("The event has already begun, so it gets no reminders."))
    return wanted


def _new_reminder(parent: Mailing, event: Event, days_before: int, when: datetime) -> Mailing:
    reminder = Mailing(
        kind=MailingKind.REMINDER, parent_id=parent.id, event_id=event.id, remind_days_before=days_before,
        **versions(reminder_texts(event, days_before)), audience_language=parent.audience_language, topics=list(parent.topics), template_id=parent.template_id,
        created_by_id=parent.created_by_id, status=MailingStatus.SCHEDULED, scheduled_at=when,
    )
    db.session.add(reminder)
    db.session.flush()
    return reminder


def _set_time(reminder_id: int, when: datetime) -> bool:
    """Re-time a reminder only while it is still scheduled: a started one is left alone."""
    result = db.session.execute(
        update(Mailing)
        .where(Mailing.id == reminder_id, Mailing.status == MailingStatus.SCHEDULED)
        .values(scheduled_at=when, updated_at=clock.utcnow())
        .execution_options(synchronize_session=False)
    )
    return result.rowcount == 1


def _cancel_scheduled(reminder_id: int) -> bool:
    now = clock.utcnow()
    result = db.session.execute(
        update(Mailing)
        .where(Mailing.id == reminder_id, Mailing.status == MailingStatus.SCHEDULED)
        .values(status=MailingStatus.CANCELLED, finished_at=now, updated_at=now)
        .execution_options(synchronize_session=False)
    )
    return result.rowcount == 1


def _remove_scheduled(reminder_id: int) -> bool:
    """Delete a reminder that is scheduled and never started: it has no recipients and no history."""
    result = db.session.execute(
        delete(Mailing)
        .where(Mailing.id == reminder_id, Mailing.status == MailingStatus.SCHEDULED)
        .execution_options(synchronize_session=False)
    )
    return result.rowcount == 1


def set_reminders(mailing_id: int, days: Iterable[int], sends_at: datetime) -> list[ReminderNote]:
    """Make the mailing's waiting reminders exactly `days` (see apply_reminders). Commits."""
    try:
        notes = apply_reminders(mailing_id, days, sends_at)
    except ReminderRefused:
        db.session.rollback()
        raise
    db.session.commit()
    return notes


def apply_reminders(mailing_id: int, days: Iterable[int], sends_at: datetime) -> list[ReminderNote]:
    """Make the mailing's waiting reminders exactly `days`, for a mailing going out at `sends_at`.

    Called when staff schedule or send the announcement of an event. Scheduled reminders
    with the same days stay (re-timed if needed); unticked ones are removed; a reminder
    whose time has passed, or that would go before the mailing itself, is not made.
    A reminder staff put back to draft by hand is theirs, and is left alone. The caller
    commits (or rolls back on ReminderRefused).
    """
    # Locked, so two clicks on "Schedule" at once cannot both add the same reminder.
    mailing = db.session.scalar(
        select(Mailing).where(Mailing.id == mailing_id)
        .with_for_update().execution_options(populate_existing=True)
    )
    if mailing is None:
        raise LookupError(f"mailing {mailing_id} does not exist")
    now = clock.utcnow()
    wanted = check_reminders(mailing, days, now)
    existing = {r.remind_days_before: r for r in reminders_of(mailing_id)
                if r.status == MailingStatus.SCHEDULED}
    notes: list[ReminderNote] = []
    for days_before, reminder in existing.items():
        if days_before not in wanted and _remove_scheduled(reminder.id):
            notes.append(ReminderNote(ReminderOutcome.REMOVED, days_before, None, reminder.scheduled_at))
    for days_before in wanted:
        when = reminder_time(mailing.event.starts_at, days_before)
        reminder = existing.get(days_before)
        outcome = None
        if when <= now:
            outcome = ReminderOutcome.SKIPPED_PAST
        elif when <= sends_at:
            outcome = ReminderOutcome.SKIPPED_EARLY
        if outcome is not None:
            if reminder is not None:
                _remove_scheduled(reminder.id)
            notes.append(ReminderNote(outcome, days_before, None, None, when))
        elif reminder is None:
            created = _new_reminder(mailing, mailing.event, days_before, when)
            notes.append(ReminderNote(ReminderOutcome.CREATED, days_before, created.id, None, when))
        elif reminder.scheduled_at != when and _set_time(reminder.id, when):
            notes.append(ReminderNote(ReminderOutcome.RETIMED, days_before, reminder.id, reminder.scheduled_at, when))
        else:
            notes.append(ReminderNote(ReminderOutcome.KEPT, days_before, reminder.id, None, reminder.scheduled_at))
    log.info("mailing %s reminders: %s", mailing_id, [(n.days_before, n.outcome.value) for n in notes])
    return notes


def remove_waiting_reminders(mailing_id: int) -> list[ReminderNote]:
    """Remove the scheduled reminders (the mailing went back to draft). Commits."""
    notes = [ReminderNote(ReminderOutcome.REMOVED, r.remind_days_before or 0, None, r.scheduled_at)
             for r in reminders_of(mailing_id)
             if r.status == MailingStatus.SCHEDULED and _remove_scheduled(r.id)]
    db.session.commit()
    return notes


def retime_reminders(event: Event) -> list[ReminderNote]:
    """Follow the event's (new) start with every reminder still scheduled; the caller commits.

    Runs in the caller's transaction, so the event and its reminders change together. A
    reminder that has started or been sent is left alone. One whose new time has passed,
    or that would now go before its mailing, is cancelled.
    """
    now = clock.utcnow()
    notes: list[ReminderNote] = []
    reminders = list(db.session.scalars(
        select(Mailing)
        .where(Mailing.event_id == event.id, Mailing.kind == MailingKind.REMINDER,
               Mailing.status == MailingStatus.SCHEDULED)
        .order_by(Mailing.scheduled_at, Mailing.id)
    ))
    for reminder in reminders:
        days_before = reminder.remind_days_before
        if not days_before:
            continue  # a reminder staff scheduled by hand keeps its time
        when = reminder_time(event.starts_at, days_before)
        if when == reminder.scheduled_at:
            continue
        parent = reminder.parent
        parent_goes_at = None
        if parent is not None and parent.status not in REACHED_PEOPLE:  # a parent already out has no time to wait for
            parent_goes_at = parent.scheduled_at
        if when <= now or (parent_goes_at is not None and when <= parent_goes_at):
            outcome = ReminderOutcome.CANCELLED_PAST if when <= now else ReminderOutcome.CANCELLED_EARLY
            if _cancel_scheduled(reminder.id):
                notes.append(ReminderNote(outcome, days_before, reminder.id, reminder.scheduled_at, when))
        elif _set_time(reminder.id, when):
            notes.append(ReminderNote(ReminderOutcome.RETIMED, days_before, reminder.id, reminder.scheduled_at, when))
    if notes:
        log.info("event %s moved: reminders %s", event.id, [(n.reminder_id, n.outcome.value) for n in notes])
    return notes
