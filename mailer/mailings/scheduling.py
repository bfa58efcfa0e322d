"""Schedule a mailing or send it now: the pre-send check, the move to scheduled and its reminders, in one commit.

The caller queues the start task after a send-now (the same path the beat takes for a due mailing).
"""
from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import datetime

from mailer.events import reminders
from mailer.events.reminders import ReminderNote
from mailer.extensions import db
from mailer.mailings import preview, states
from mailer.mailings.audience_summary import check_audience
from mailer.composing.custom_templates import TemplateRefused
from mailer.models import Mailing
from mailer.models.mailing import EDITABLE
from mailer import clock

log = logging.getLogger(__name__)


class WhenInPast(ValueError):
    """A mailing can only be scheduled for a time in the future."""


def record_presend_check(mailing_id: int) -> None:
    """Record the pre-send check on a mailing that is scheduled or about to be. Commits."""
    _store_check(mailing_id)
    db.session.commit()


def schedule_mailing(mailing_id: int, when: datetime, reminder_days: Iterable[int],
                     staff_user_id: int, expected_recipients: int | None = None) -> list[ReminderNote]:
    """Schedule the mailing for `when` (aware) with these reminders; return what happened to the reminders.

    `expected_recipients` is the audience the staff member confirmed (see check_audience).
    Raises WhenInPast, audience_summary.AudienceRefused, reminders.ReminderRefused or
    states.InvalidTransition, and then changes nothing.
    """
    mailing = _mailing(mailing_id)
    now = clock.utcnow()
    if when <= now:
        raise WhenInPast(f"{when.isoformat()} is not after {now.isoformat()}")
    days = reminders.check_reminders(mailing, reminder_days, now)
    _check_audience(mailing, expected_recipients)
    notes = _schedule(mailing, when, days, staff_user_id)
    log.info("mailing %s scheduled for %s by staff %s", mailing_id, when.isoformat(), staff_user_id)
    return notes


def send_mailing_now(mailing_id: int, reminder_days: Iterable[int], staff_user_id: int,
                     expected_recipients: int | None = None) -> list[ReminderNote]:
    """Schedule the mailing for now with these reminders; the caller then queues the start task.

    Raises audience_summary.AudienceRefused, reminders.ReminderRefused or states.InvalidTransition,
    and then changes nothing.
    """
    mailing = _mailing(mailing_id)
    now = clock.utcnow()
    days = reminders.check_reminders(mailing, reminder_days, now)
    _check_audience(mailing, expected_recipients)
    notes = _schedule(mailing, now, days, staff_user_id)
    log.info("mailing %s sent now by staff %s", mailing_id, staff_user_id)
    return notes


def _check_audience(mailing: Mailing, expected_recipients: int | None) -> None:
    # Only a mailing that can still be scheduled: for any other, states.InvalidTransition says why.
    if mailing.status in EDITABLE:
        check_audience(mailing, expected_recipients)


def _mailing(mailing_id: int) -> Mailing:
    mailing = db.session.get(Mailing, mailing_id)
    if mailing is None:
        raise LookupError(f"mailing {mailing_id} does not exist")
    return mailing


def _schedule(mailing: Mailing, when: datetime, days: list[int], staff_user_id: int | None) -> list[ReminderNote]:
    """Check, move to scheduled and set the reminders in one transaction: all of it happens, or none."""
    try:
        _store_check(mailing.id)
        states.mark_scheduled(mailing.id, when, scheduled_by_id=staff_user_id)
        notes = reminders.apply_reminders(mailing.id, days, when) if reminders.can_have_reminders(mailing) else []
    except Exception:
        db.session.rollback()
        raise
    db.session.commit()
    return notes


def _store_check(mailing_id: int) -> None:
    if states.status_of(mailing_id) not in EDITABLE:
        return
    try:
        preview.record_presend_warnings(mailing_id)
    except TemplateRefused as error:  # the check must never stop a send; the engine reports the failure
        log.warning("pre-send check of mailing %s could not render: %s", mailing_id, error)
