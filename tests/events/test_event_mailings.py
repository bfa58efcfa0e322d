"""Event mailings in the domain: the prefilled mailing, its reminders, and what a cancellation does."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from flask_babel import force_locale

from mailer import clock as mailer_clock
from mailer.events import mailings, reminders, service
from mailer.events.reminders import ReminderOutcome, ReminderRefused
from mailer.extensions import db
from mailer.models import Mailing, MailingKind, MailingStatus, Event, StaffUser, StaffRole
from mailer.mailings import states
from tests.clock import NOW
from tests.factories import create_event
from tests.helpers import status_of, topic_id

COPENHAGEN_10AM_AFTER_DST = datetime(2027, 3, 30, 8, 0, tzinfo=timezone.utc)  # 10:00 summer time (UTC+2)


def event(**values) -> Event:
    values.setdefault("topic_ids", [topic_id()])
    return db.session.get(Event, create_event(**values))


def announce(event_: Event, *, sends_at: datetime | None = None, days=(7, 1)) -> tuple[Mailing, list]:
    """Draft the event's mailing, schedule it and tick reminders, as staff do."""
    mailing = mailings.draft_event_mailing(event_, None)
    sends_at = sends_at or NOW + timedelta(hours=1)
    states.schedule(mailing.id, sends_at)
    notes = reminders.set_reminders(mailing.id, days, sends_at)
    return db.session.get(Mailing, mailing.id), notes


class TestTheDraftMailing:
    def test_it_is_filled_in_from_the_event_in_its_language(self, app, clock):
        with app.app_context():
            staff = StaffUser(email="ida@example.org", role=StaffRole.EDITOR)
            staff.set_password("correct horse battery")
            db.session.add(staff)
            workshop = event(title="Workshop: normer & *bias*", venue="Musikhuset", city="Aarhus",
                             description_markdown="Kom og vær med, **alle** er velkomne.",
                             topic_ids=[topic_id("events-aarhus"), topic_id("newsletter")])
            draft = mailings.draft_event_mailing(workshop, staff)
            # A week after NOW, 12:00 UTC is 14:00 in Copenhagen (summer time).
            assert draft.subject_da == "Workshop: normer & *bias* – 18. maj 2026"
            assert draft.preheader_da == "mandag den 18. maj 2026, 14.00–17.00 · Musikhuset, Aarhus"
            assert draft.body_markdown_da.startswith("Vi vil gerne invitere dig til **Workshop: normer & \\*bias\\***.")
            assert "Kom og vær med, **alle** er velkomne." in draft.body_markdown_da
            assert (draft.kind, draft.status, draft.event_id) == (MailingKind.ANNOUNCEMENT, MailingStatus.DRAFT, workshop.id)
            # Written only in Danish: no English version, so English readers get the Danish one whole.
            assert (draft.audience_language, draft.subject_en, draft.body_markdown_en) == (None, "", "")
            assert {t.slug for t in draft.topics} == {"events-aarhus", "newsletter"}
            assert draft.created_by_id == staff.id

    def test_an_english_event_gets_an_english_version(self, app, clock):
        with app.app_context():
            talk = event(title="Panel: art and access", language="en", is_online=True, city=None,
                         online_url="https://meet.example.org/panel")
            draft = mailings.draft_event_mailing(talk, None)
            assert draft.subject_en == "Panel: art and access – May 18, 2026"
            assert draft.preheader_en == "Monday, May 18, 2026, 14:00–17:00 · Online"
            assert draft.body_markdown_en.startswith("We would like to invite you to **Panel: art and access**.")
            assert (draft.audience_language, draft.subject_da) == (None, "")

    def test_a_long_title_is_shortened_to_fit_the_subject(self, app, clock):
        with app.app_context():
            draft = mailings.draft_event_mailing(event(title="Å" * 200), None)
            assert len(draft.subject_da) == 200 and draft.subject_da.endswith("… – 18. maj 2026")

    @pytest.mark.parametrize("change, message", [
        ({"topic_ids": []}, "at least one topic"),
        ({"starts_in": timedelta(days=-2)}, "is over"),
        ({"cancel": True}, "is cancelled"),
    ])
    def test_some_events_cannot_be_announced(self, app, clock, change, message):
        with app.app_context():
            cancel = change.pop("cancel", False)
            workshop = event(**change)
            if cancel:
                service.cancel_event(workshop)
            with force_locale("en"), pytest.raises(mailings.EventMailingRefused, match=message):
                mailings.draft_event_mailing(workshop, None)
            assert db.session.scalar(db.select(db.func.count(Mailing.id))) == 0


class TestReminders:
    def test_reminders_go_at_the_events_clock_time_across_summer_time(self, app, clock):
        clock.set(datetime(2027, 3, 1, 12, 0, tzinfo=timezone.utc))
        with app.app_context():
            concert = event(title="Koncert", starts_at=COPENHAGEN_10AM_AFTER_DST, now=clock.now)
            mailing, notes = announce(concert, sends_at=clock.now + timedelta(hours=1))
            assert [n.outcome for n in notes] == [ReminderOutcome.CREATED, ReminderOutcome.CREATED]
            week, day = reminders.reminders_of(mailing.id)
            # 23 March is still winter time (UTC+1), 29 March is summer time (UTC+2): both 10:00 in Copenhagen.
            assert week.scheduled_at == datetime(2027, 3, 23, 9, 0, tzinfo=timezone.utc)
            assert day.scheduled_at == datetime(2027, 3, 29, 8, 0, tzinfo=timezone.utc)
            for reminder, days in ((week, 7), (day, 1)):
                assert mailer_clock.utc_to_local(reminder.scheduled_at).hour == 10
                assert (reminder.kind, reminder.status) == (MailingKind.REMINDER, MailingStatus.SCHEDULED)
                assert (reminder.parent_id, reminder.event_id, reminder.remind_days_before) == (mailing.id, concert.id, days)
                assert [t.id for t in reminder.topics] == [t.id for t in mailing.topics]
                assert reminder.audience_language is None
            assert week.subject_da == "Påmindelse: Koncert, om 7 dage"
            assert day.subject_da == "Påmindelse: Koncert, i morgen"
            assert day.body_markdown_da.startswith("En påmindelse: **Koncert** er tirsdag den 30. marts 2027, 10.00–13.00.")

    def test_a_reminder_whose_time_has_passed_is_not_made_and_staff_are_told(self, app, clock):
        with app.app_context():
            soon = event(starts_in=timedelta(days=3))
            mailing, notes = announce(soon)
            assert [(n.days_before, n.outcome) for n in notes] == [(7, ReminderOutcome.SKIPPED_PAST), (1, ReminderOutcome.CREATED)]
            assert [r.remind_days_before for r in reminders.reminders_of(mailing.id)] == [1]

    def test_a_reminder_before_the_mailing_itself_is_not_made(self, app, clock):
        with app.app_context():
            workshop = event(starts_in=timedelta(days=10))
            mailing, notes = announce(workshop, sends_at=NOW + timedelta(days=5))
            assert [(n.days_before, n.outcome) for n in notes] == [(7, ReminderOutcome.SKIPPED_EARLY), (1, ReminderOutcome.CREATED)]

    def test_staff_can_untick_and_add_reminders_when_they_schedule_again(self, app, clock):
        with app.app_context():
            workshop = event(starts_in=timedelta(days=20))
            mailing, _ = announce(workshop)
            [day] = [r for r in reminders.reminders_of(mailing.id) if r.remind_days_before == 1]
            notes = reminders.set_reminders(mailing.id, [1, 3], NOW + timedelta(hours=2))
            assert {(n.days_before, n.outcome) for n in notes} == {
                (7, ReminderOutcome.REMOVED), (3, ReminderOutcome.CREATED), (1, ReminderOutcome.KEPT)}
            assert {r.remind_days_before: r.id for r in reminders.reminders_of(mailing.id)}[1] == day.id
            assert reminders.pending_reminder_days(mailing.id) == [3, 1]

    def test_a_reminder_staff_put_back_to_draft_is_theirs_and_stays(self, app, clock):
        with app.app_context():
            mailing, _ = announce(event(starts_in=timedelta(days=20)))
            week = next(r for r in reminders.reminders_of(mailing.id) if r.remind_days_before == 7)
            states.unschedule(week.id)
            reminders.set_reminders(mailing.id, [1], NOW + timedelta(hours=2))
            reminders.remove_waiting_reminders(mailing.id)
            assert [(r.id, r.status) for r in reminders.reminders_of(mailing.id)] == [(week.id, MailingStatus.DRAFT)]

    def test_going_back_to_draft_removes_the_waiting_reminders(self, app, clock):
        with app.app_context():
            mailing, _ = announce(event(starts_in=timedelta(days=20)))
            states.unschedule(mailing.id)
            notes = reminders.remove_waiting_reminders(mailing.id)
            assert sorted(n.days_before for n in notes) == [1, 7]
            assert reminders.reminders_of(mailing.id) == []

    @pytest.mark.parametrize("days, message", [([0], "from 1 to 60 days"), ([61], "from 1 to 60 days"),
                                               ([1, 2, 3, 4, 5, 6], "At most 5 reminders")])
    def test_reminder_days_out_of_range_are_refused(self, app, clock, days, message):
        with app.app_context():
            draft = mailings.draft_event_mailing(event(starts_in=timedelta(days=30)), None)
            with force_locale("en"), pytest.raises(ReminderRefused, match=message):
                reminders.set_reminders(draft.id, days, NOW)
            assert reminders.reminders_of(draft.id) == []

    def test_no_reminders_for_an_event_that_has_begun_or_is_cancelled_or_for_a_plain_mailing(self, app, clock):
        from tests.factories import create_mailing

        with app.app_context():
            workshop = event(starts_in=timedelta(days=30))
            draft = mailings.draft_event_mailing(workshop, None)
            clock.set(workshop.starts_at + timedelta(minutes=1))
            with force_locale("en"), pytest.raises(ReminderRefused, match="already begun"):
                reminders.set_reminders(draft.id, [1], clock.now)
            clock.set(NOW)
            service.cancel_event(workshop)
            db.session.commit()
            with force_locale("en"), pytest.raises(ReminderRefused, match="is cancelled"):
                reminders.set_reminders(draft.id, [1], NOW)
            plain = create_mailing("newsletter")
            with force_locale("en"), pytest.raises(ReminderRefused, match="Only the announcement of an event"):
                reminders.set_reminders(plain, [1], NOW)
            assert reminders.set_reminders(plain, [], NOW) == []  # nothing asked, nothing refused


class TestCancellingTheEvent:
    def test_reminders_are_cancelled_and_a_notice_is_offered_for_the_sent_mailing(self, app, clock):
        with app.app_context():
            workshop = event(starts_in=timedelta(days=20))
            mailing, _ = announce(workshop, sends_at=NOW)
            db.session.execute(db.update(Mailing).where(Mailing.id == mailing.id)
                               .values(status=MailingStatus.SENT))
            another = mailings.draft_event_mailing(workshop, None)  # an English version, never sent
            db.session.commit()
            sequence_before = workshop.sequence
            service.cancel_event(workshop)
            db.session.commit()
            withdrawal = mailings.withdraw_event_mailings(workshop)
            assert sorted(n.days_before for n in withdrawal.cancelled_reminders) == [1, 7]
            assert all(n.outcome == ReminderOutcome.CANCELLED_EVENT for n in withdrawal.cancelled_reminders)
            assert {status_of(r.id) for r in reminders.reminders_of(mailing.id)} == {MailingStatus.CANCELLED}
            assert [a.id for a in withdrawal.not_yet_out] == [another.id]
            assert [a.id for a in withdrawal.needs_notice] == [mailing.id]
            assert mailings.withdraw_event_mailings(workshop).cancelled_reminders == []  # safe to repeat

            notice, created = mailings.draft_cancellation_notice(mailing.id, None)
            assert created
            assert (notice.kind, notice.status, notice.parent_id, notice.event_id) == (
                MailingKind.CANCELLATION, MailingStatus.DRAFT, mailing.id, workshop.id)
            assert notice.subject_da == "Aflyst: Workshop i Aarhus"
            assert "Desværre har vi måttet aflyse **Workshop i Aarhus**" in notice.body_markdown_da
            assert [t.id for t in notice.topics] == [t.id for t in mailing.topics]
            assert notice.audience_language == mailing.audience_language
            assert workshop.sequence == sequence_before + 1
            again, created_again = mailings.draft_cancellation_notice(mailing.id, None)
            assert (again.id, created_again) == (notice.id, False)
            assert mailings.needs_cancellation_notice(workshop) == []

    def test_a_reminder_already_sent_stays_as_it_was(self, app, clock):
        with app.app_context():
            workshop = event(starts_in=timedelta(days=20))
            mailing, _ = announce(workshop, sends_at=NOW)
            week = next(r for r in reminders.reminders_of(mailing.id) if r.remind_days_before == 7)
            db.session.execute(db.update(Mailing).where(Mailing.id == week.id)
                               .values(status=MailingStatus.SENT))
            db.session.commit()
            service.cancel_event(workshop)
            db.session.commit()
            withdrawal = mailings.withdraw_event_mailings(workshop)
            assert [n.days_before for n in withdrawal.cancelled_reminders] == [1]
            assert status_of(week.id) == MailingStatus.SENT

    def test_no_notice_for_an_mailing_that_never_went_out_or_an_event_still_on(self, app, clock):
        with app.app_context():
            workshop = event(starts_in=timedelta(days=20))
            draft = mailings.draft_event_mailing(workshop, None)
            with force_locale("en"), pytest.raises(mailings.EventMailingRefused, match="not cancelled"):
                mailings.draft_cancellation_notice(draft.id, None)
            service.cancel_event(workshop)
            db.session.commit()
            with force_locale("en"), pytest.raises(mailings.EventMailingRefused, match="never sent"):
                mailings.draft_cancellation_notice(draft.id, None)
            with force_locale("en"), pytest.raises(mailings.EventMailingRefused, match="not the announcement of an event"):
                mailings.draft_cancellation_notice(999999, None)
            assert mailings.needs_cancellation_notice(workshop) == []
