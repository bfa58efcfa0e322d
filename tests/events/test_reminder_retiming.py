"""Reminders follow their event: moving it re-times the waiting ones, in Copenhagen clock time."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

from mailer import clock
from mailer.events import mailings, reminders, service
from mailer.events.reminders import ReminderOutcome
from mailer.extensions import db
from mailer.models import Mailing, MailingStatus, Event
from mailer.mailings import states
from tests.clock import NOW
from tests.factories import create_event
from tests.helpers import status_of, topic_id


def announced(starts_at: datetime, *, sends_at: datetime, days=(7, 1)) -> tuple[Event, Mailing]:
    """An event announced for `sends_at`, with reminders ticked."""
    event = db.session.get(Event, create_event("Koncert", starts_at=starts_at, topic_ids=[topic_id()]))
    mailing = mailings.draft_event_mailing(event, None)
    states.schedule(mailing.id, sends_at)
    reminders.set_reminders(mailing.id, days, sends_at)
    return event, db.session.get(Mailing, mailing.id)


def move(event: Event, delta: timedelta, **changes) -> list[reminders.ReminderNote]:
    """Move the event in Danish wall-clock time, as the staff form does, and re-time its reminders with it."""
    return edit(event, delta, **changes).reminder_notes


def edit(event: Event, delta: timedelta, **changes) -> mailings.EventUpdate:
    """Edit the event as the staff form does: its waiting mailings change in the same transaction."""

    def local(moment: datetime) -> datetime:  # a naive time is read as Copenhagen time
        return clock.utc_to_local(moment).replace(tzinfo=None) + delta

    data = service.EventData(
        title_da=changes.get("title", event.title_da), title_en=event.title_en, starts_at=local(event.starts_at),
        ends_at=local(event.ends_at) if event.ends_at else None, city=event.city, venue_da=event.venue_da,
        topic_ids=[t.id for t in event.topics],
    )
    result = mailings.update_event_and_mailings(event, data)
    db.session.commit()
    return result


def times(mailing_id: int) -> dict[int, datetime]:
    return {r.remind_days_before: r.scheduled_at for r in reminders.reminders_of(mailing_id)}


def test_moving_the_event_three_days_retimes_both_reminders_across_summer_time(app, clock):
    clock.set(datetime(2027, 3, 1, 12, 0, tzinfo=timezone.utc))
    with app.app_context():
        # Saturday 27 March 2027, 10:00 winter time; the clocks go forward that night.
        event, mailing = announced(datetime(2027, 3, 27, 9, 0, tzinfo=timezone.utc),
                                        sends_at=clock.now + timedelta(hours=1))
        assert times(mailing.id) == {7: datetime(2027, 3, 20, 9, 0, tzinfo=timezone.utc),
                                          1: datetime(2027, 3, 26, 9, 0, tzinfo=timezone.utc)}
        notes = move(event, timedelta(days=3))
        # Tuesday 30 March, 10:00 summer time: the one-day reminder is 10:00 summer time too.
        assert event.starts_at == datetime(2027, 3, 30, 8, 0, tzinfo=timezone.utc)
        assert times(mailing.id) == {7: datetime(2027, 3, 23, 9, 0, tzinfo=timezone.utc),
                                          1: datetime(2027, 3, 29, 8, 0, tzinfo=timezone.utc)}
        assert [(n.outcome, n.days_before, n.old_time, n.new_time) for n in notes] == [
            (ReminderOutcome.RETIMED, 7, datetime(2027, 3, 20, 9, 0, tzinfo=timezone.utc), datetime(2027, 3, 23, 9, 0, tzinfo=timezone.utc)),
            (ReminderOutcome.RETIMED, 1, datetime(2027, 3, 26, 9, 0, tzinfo=timezone.utc), datetime(2027, 3, 29, 8, 0, tzinfo=timezone.utc)),
        ]
        assert {status_of(r.id) for r in reminders.reminders_of(mailing.id)} == {MailingStatus.SCHEDULED}


def test_an_edit_that_keeps_the_start_changes_no_reminder(app, clock):
    with app.app_context():
        event, mailing = announced(NOW + timedelta(days=20), sends_at=NOW + timedelta(hours=1))
        before = times(mailing.id)
        assert move(event, timedelta(0), title="Koncert (ny titel)") == []
        assert times(mailing.id) == before


def test_a_reminder_that_has_started_is_left_alone(app, clock):
    with app.app_context():
        event, mailing = announced(NOW + timedelta(days=20), sends_at=NOW + timedelta(hours=1))
        week_id = next(r.id for r in reminders.reminders_of(mailing.id) if r.remind_days_before == 7)
        week_time = times(mailing.id)[7]
        db.session.execute(db.update(Mailing).where(Mailing.id == week_id)
                           .values(status=MailingStatus.SENDING))
        db.session.commit()
        notes = move(event, timedelta(days=3))
        assert [(n.days_before, n.outcome) for n in notes] == [(1, ReminderOutcome.RETIMED)]
        assert times(mailing.id)[7] == week_time and status_of(week_id) == MailingStatus.SENDING


def test_a_reminder_moved_into_the_past_is_cancelled_and_staff_are_told(app, clock):
    with app.app_context():
        event, mailing = announced(NOW + timedelta(days=10), sends_at=NOW)
        notes = move(event, timedelta(days=-5))  # now in five days: a week before has passed
        assert [(n.days_before, n.outcome) for n in notes] == [(7, ReminderOutcome.CANCELLED_PAST), (1, ReminderOutcome.RETIMED)]
        states = {r.remind_days_before: status_of(r.id) for r in reminders.reminders_of(mailing.id)}
        assert states == {7: MailingStatus.CANCELLED, 1: MailingStatus.SCHEDULED}


def test_a_reminder_that_would_go_before_its_scheduled_mailing_is_cancelled(app, clock):
    with app.app_context():
        event, mailing = announced(NOW + timedelta(days=20), sends_at=NOW + timedelta(days=5))
        notes = move(event, timedelta(days=-10))  # the week-before reminder would be at day 3, before day 5
        assert [(n.days_before, n.outcome) for n in notes] == [(7, ReminderOutcome.CANCELLED_EARLY), (1, ReminderOutcome.RETIMED)]


def test_moving_the_event_updates_the_prefilled_texts_but_keeps_what_staff_wrote(app, clock):
    with app.app_context():
        event, mailing = announced(NOW + timedelta(days=20), sends_at=NOW + timedelta(hours=1))
        week, day = reminders.reminders_of(mailing.id)
        assert "søndag den 31. maj 2026" in week.body_markdown_da and "søndag den 31. maj 2026" in day.preheader_da
        db.session.execute(db.update(Mailing).where(Mailing.id == day.id)
                           .values(body_markdown_da="Husk at tage madpakke med!"))
        db.session.commit()
        result = edit(event, timedelta(days=3))
        assert sorted(result.refreshed_ids) == sorted([mailing.id, week.id, day.id])
        week, day = (db.session.get(Mailing, r.id) for r in (week, day))
        mailing = db.session.get(Mailing, mailing.id)
        assert mailing.subject_da == "Koncert – 3. juni 2026"
        assert week.body_markdown_da.startswith("En påmindelse: **Koncert** er onsdag den 3. juni 2026, 14.00–17.00.")
        assert day.preheader_da.startswith("onsdag den 3. juni 2026, 14.00–17.00")
        assert day.body_markdown_da == "Husk at tage madpakke med!"  # staff's own words stay
        assert week.subject_da == "Påmindelse: Koncert, om 7 dage"
