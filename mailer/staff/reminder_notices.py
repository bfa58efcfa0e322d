"""Flash notices, in words for the staff pages, about what happened to reminders and an event's mailings."""
from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from flask import flash
from flask_babel import gettext, ngettext

from mailer.events.reminders import ReminderOutcome, ReminderNote
from mailer.clock import utc_to_local
from mailer.models import Mailing


def danish_time(moment: datetime | None) -> str:
    """A moment as Danish wall-clock time, the way staff type it in the forms."""
    return utc_to_local(moment).strftime("%Y-%m-%d %H:%M") if moment is not None else "–"


def days_before(days: int) -> str:
    return ngettext("%(num)d day before", "%(num)d days before", days)


def reminder_notice(note: ReminderNote) -> str:
    """One sentence about one reminder."""
    before = days_before(note.days_before)
    old, new = danish_time(note.old_time), danish_time(note.new_time)
    messages = {
        ReminderOutcome.CREATED: lambda: gettext("A reminder %(before)s is scheduled for %(when)s (Danish time).",
                                         before=before, when=new),
        ReminderOutcome.KEPT: lambda: gettext("The reminder %(before)s stays scheduled for %(when)s (Danish time).",
                                      before=before, when=new),
        ReminderOutcome.RETIMED: lambda: gettext("The reminder %(before)s moves from %(old)s to %(new)s (Danish time).",
                                         before=before, old=old, new=new),
        ReminderOutcome.REMOVED: lambda: gettext("The reminder %(before)s is removed.", before=before),
        ReminderOutcome.SKIPPED_PAST: lambda: gettext(
            "No reminder %(before)s: its time, %(when)s (Danish time), has already passed.", before=before, when=new),
        ReminderOutcome.SKIPPED_EARLY: lambda: gettext(
            "No reminder %(before)s: at %(when)s (Danish time) it would go out before the announcement itself.",
            before=before, when=new),
        ReminderOutcome.CANCELLED_PAST: lambda: gettext(
            "The reminder %(before)s is cancelled: its new time, %(when)s (Danish time), has already passed.",
            before=before, when=new),
        ReminderOutcome.CANCELLED_EARLY: lambda: gettext(
            "The reminder %(before)s is cancelled: at its new time, %(when)s (Danish time), it would go out "
            "before the announcement.", before=before, when=new),
        ReminderOutcome.CANCELLED_EVENT: lambda: gettext(
            "The reminder %(before)s, planned for %(when)s (Danish time), is cancelled.", before=before, when=old),
    }
    return messages[note.outcome]()


def flash_reminder_notes(notes: Iterable[ReminderNote]) -> None:
    """Flash one line per reminder; problems as warnings."""
    problems = (ReminderOutcome.SKIPPED_PAST, ReminderOutcome.SKIPPED_EARLY, ReminderOutcome.CANCELLED_PAST, ReminderOutcome.CANCELLED_EARLY)
    for note in notes:
        flash(reminder_notice(note), "warning" if note.outcome in problems else "info")


def flash_event_moved(notes: list[ReminderNote]) -> None:
    """After an event is edited: which reminders followed it, and which had to be cancelled."""
    retimed = [n for n in notes if n.outcome == ReminderOutcome.RETIMED]
    cancelled = [n for n in notes if n.outcome != ReminderOutcome.RETIMED]
    if retimed:
        flash(ngettext("%(num)d reminder re-timed to follow the event:", "%(num)d reminders re-timed to follow the event:",
                       len(retimed)), "info")
    flash_reminder_notes(retimed)
    if cancelled:
        flash(ngettext("%(num)d reminder cancelled:", "%(num)d reminders cancelled:", len(cancelled)), "warning")
    flash_reminder_notes(cancelled)


def flash_withdrawal(cancelled: list[ReminderNote], not_yet_out: list[Mailing]) -> None:
    """After an event is cancelled: the reminders withdrawn, and its mailings still to look at."""
    if cancelled:
        flash(ngettext("%(num)d reminder cancelled:", "%(num)d reminders cancelled:", len(cancelled)), "info")
        flash_reminder_notes(cancelled)
    for mailing in not_yet_out:
        flash(gettext("The mailing “%(subject)s” of this event has not been sent in full: stop or change it "
                      "if it should not go out.", subject=mailing.display_subject), "warning")
