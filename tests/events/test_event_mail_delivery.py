"""Event mails as subscribers get them: the event card, calendar links and the .ics, from mailing to cancellation.

Sent on this process through the real engine and MIME assembly into the memory transport,
with the clock moved by hand (the real Celery worker path is in tests/integration).
"""
from __future__ import annotations

from datetime import datetime, timedelta, timezone
from email.message import EmailMessage

from icalendar import Calendar

from mailer import clock
from mailer.events import mailings, reminders, service
from mailer.extensions import db
from mailer.models import Mailing, MailingStatus, ConsentChannel, Event, Subscriber
from mailer.mailings import states
from mailer.subscribers.consent import Origin
from mailer.subscribers.lifecycle import unsubscribe
from tests.factories import create_event, create_subscribers
from tests.helpers import parse_mail, send_in_process, status_of, topic_id

COPENHAGEN = clock.COPENHAGEN
MARCH_1 = datetime(2027, 3, 1, 12, 0, tzinfo=timezone.utc)
# Tuesday 30 March 2027, 10:00–12:00 in Copenhagen: summer time, two days after the clocks went forward.
CONCERT_STARTS = datetime(2027, 3, 30, 8, 0, tzinfo=timezone.utc)


def mails_since(outbox, start: int) -> dict[str, EmailMessage]:
    return {recipient: parse_mail(data) for _, recipient, data in outbox.sent[start:]}


def calendar_of(mail: EmailMessage) -> tuple[EmailMessage, Calendar]:
    [attachment] = list(mail.iter_attachments())
    assert attachment.get_filename() == "event.ics" and attachment.get_content_type() == "text/calendar"
    return attachment, Calendar.from_ical(attachment.get_payload(decode=True))


def announce_and_send(event: Event, days=(7, 1)) -> Mailing:
    mailing = mailings.draft_event_mailing(event, None)
    states.send_now(mailing.id)
    reminders.set_reminders(mailing.id, days, clock.utcnow())
    send_in_process(mailing.id)
    return db.session.get(Mailing, mailing.id)


def test_mailing_reminder_and_cancellation_carry_the_card_and_a_calendar_file_that_follows(app, outbox, clock):
    clock.set(MARCH_1)
    with app.app_context():
        create_subscribers(2, "events-aarhus", language="da", prefix="da")
        concert = db.session.get(Event, create_event(
            "Koncert i Musikhuset", starts_at=CONCERT_STARTS, ends_at=CONCERT_STARTS + timedelta(hours=2),
            venue="Musikhuset", city="Aarhus", topic_ids=[topic_id()], now=MARCH_1))
        uid = concert.uid
        mailing = announce_and_send(concert)

        # The mailing: METHOD:PUBLISH, at 10:00 Copenhagen summer time.
        announced = mails_since(outbox, 0)
        assert set(announced) == {"da0@example.org", "da1@example.org"}
        mail = announced["da0@example.org"]
        assert mail["Subject"] == "Koncert i Musikhuset – 30. marts 2027"
        attachment, ics = calendar_of(mail)
        assert attachment.get_param("method") == "PUBLISH" and str(ics["METHOD"]) == "PUBLISH"
        [vevent] = ics.walk("VEVENT")
        assert str(vevent["UID"]) == uid and str(vevent["STATUS"]) == "CONFIRMED"
        assert vevent.decoded("DTSTART") == CONCERT_STARTS
        assert vevent.decoded("DTSTART").astimezone(COPENHAGEN).strftime("%H:%M %Z") == "10:00 CEST"
        announced_sequence = int(vevent["SEQUENCE"])
        for part in (mail.get_body(("html",)).get_content(), mail.get_body(("plain",)).get_content()):
            assert "https://calendar.google.com/calendar/render?" in part and "https://outlook.live.com/calendar/" in part
            assert "tirsdag den 30. marts 2027, 10.00–12.00" in part

        # A week before, in winter time: the reminder goes at 10:00 Copenhagen time, with the same card and UID.
        week = next(r for r in reminders.reminders_of(mailing.id) if r.remind_days_before == 7)
        assert week.scheduled_at.astimezone(COPENHAGEN).strftime("%Y-%m-%d %H:%M %Z") == "2027-03-23 10:00 CET"
        clock.set(week.scheduled_at)
        sent_before = len(outbox.sent)
        send_in_process(week.id)
        reminded = mails_since(outbox, sent_before)
        assert set(reminded) == set(announced)
        mail = reminded["da1@example.org"]
        assert mail["Subject"] == "Påmindelse: Koncert i Musikhuset, om 7 dage"
        text = mail.get_body(("plain",)).get_content()
        assert "https://calendar.google.com/calendar/render?" in text and "https://outlook.live.com/calendar/" in text
        attachment, ics = calendar_of(mail)
        assert attachment.get_param("method") == "PUBLISH" and str(ics["METHOD"]) == "PUBLISH"
        [vevent] = ics.walk("VEVENT")
        assert str(vevent["UID"]) == uid and vevent.decoded("DTSTART") == CONCERT_STARTS

        # The event is cancelled: the day-before reminder is withdrawn, the notice removes the event from calendars.
        service.cancel_event(concert)
        db.session.commit()
        withdrawal = mailings.withdraw_event_mailings(concert)
        day = next(r for r in reminders.reminders_of(mailing.id) if r.remind_days_before == 1)
        assert [n.reminder_id for n in withdrawal.cancelled_reminders] == [day.id]
        assert status_of(day.id) == MailingStatus.CANCELLED and status_of(week.id) == MailingStatus.SENT
        notice, _ = mailings.draft_cancellation_notice(mailing.id, None)
        states.send_now(notice.id)
        sent_before = len(outbox.sent)
        send_in_process(notice.id)
        cancelled = mails_since(outbox, sent_before)
    assert set(cancelled) == set(announced)
    mail = cancelled["da0@example.org"]
    assert mail["Subject"] == "Aflyst: Koncert i Musikhuset"
    html, text = mail.get_body(("html",)).get_content(), mail.get_body(("plain",)).get_content()
    for part in (html, text):
        assert "Aflyst: Koncert i Musikhuset" in part  # the card says so
        assert "calendar.google.com" not in part and "outlook.live.com" not in part  # and offers no "add"
    attachment, ics = calendar_of(mail)
    assert attachment.get_param("method") == "CANCEL" and str(ics["METHOD"]) == "CANCEL"
    [vevent] = ics.walk("VEVENT")
    assert str(vevent["UID"]) == uid
    assert str(vevent["STATUS"]) == "CANCELLED"
    assert int(vevent["SEQUENCE"]) > announced_sequence
    assert str(vevent["ORGANIZER"]) == "mailto:news@example.org"
    assert vevent.decoded("DTSTART") == CONCERT_STARTS


def test_an_event_before_the_clocks_change_is_at_its_winter_time(app, outbox, clock):
    clock.set(MARCH_1)
    with app.app_context():
        create_subscribers(1, "events-aarhus", language="da", prefix="da")
        # Saturday 27 March 2027, 10:00 in Copenhagen is still winter time (UTC+1).
        starts = datetime(2027, 3, 27, 9, 0, tzinfo=timezone.utc)
        workshop = db.session.get(Event, create_event("Workshop", starts_at=starts, topic_ids=[topic_id()], now=MARCH_1))
        announce_and_send(workshop, days=())
    [(_, _, data)] = outbox.sent
    _, ics = calendar_of(parse_mail(data))
    [vevent] = ics.walk("VEVENT")
    assert vevent.decoded("DTSTART").astimezone(COPENHAGEN).strftime("%H:%M %Z") == "10:00 CET"


def test_a_reminder_reaches_only_those_who_got_the_mailing_and_still_take_mail(app, outbox, clock):
    clock.set(MARCH_1)
    with app.app_context():
        ids = create_subscribers(4, "events-aarhus", prefix="first")
        concert = db.session.get(Event, create_event("Koncert", starts_at=CONCERT_STARTS, topic_ids=[topic_id()], now=MARCH_1))
        mailing = announce_and_send(concert, days=(1,))
        assert {r for _, r, _ in outbox.sent} == {f"first{i}@example.org" for i in range(4)}

        unsubscribe(db.session.get(Subscriber, ids[0]), Origin(ConsentChannel.ONE_CLICK))
        db.session.get(Subscriber, ids[1]).paused_until = CONCERT_STARTS + timedelta(days=30)
        create_subscribers(2, "events-aarhus", prefix="later")  # joined after the mailing
        db.session.commit()

        [reminder] = reminders.reminders_of(mailing.id)
        clock.set(reminder.scheduled_at)
        sent_before = len(outbox.sent)
        send_in_process(reminder.id)
    assert sorted(r for _, r, _ in outbox.sent[sent_before:]) == ["first2@example.org", "first3@example.org"]
