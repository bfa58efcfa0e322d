"""Event mailings through a real Celery worker over Redis, PostgreSQL and a real SMTP server.

The web side runs on this process with a fixed clock in spring 2026 (tests.clock.NOW), so
every reminder it schedules is already due by the worker's real clock: a reminder goes out
exactly when the test asks for the beat's sweep (start_due_mailings), not before.
"""
from __future__ import annotations

import re
import time
from datetime import datetime, timedelta, timezone
from email.message import EmailMessage

from icalendar import Calendar

from mailer import clock as mailer_clock
from mailer.events import mailings, reminders
from mailer.extensions import db
from mailer.models import Mailing, MailingKind, MailingStatus, Event, StaffRole, StaffUser, Subscriber
from mailer.mailings import states
from tests.helpers import ADMIN_EMAIL, STAFF_PASSWORD, csrf_token, form_fields, login, parse_mail, path_of, topic_id
from tests.factories import create_event, create_subscribers


def wait_until_sent(app, mailing_id: int, worker, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with app.app_context():
            if states.status_of(mailing_id) == MailingStatus.SENT:
                return
        time.sleep(0.2)
    raise AssertionError(f"mailing {mailing_id} not sent:\n{worker.log_path.read_text()[-3000:]}")


def mails_with_subject(smtp_server, subject: str) -> dict[str, EmailMessage]:
    found = {}
    for _, recipients, data in smtp_server.messages:
        mail = parse_mail(data)
        if mail["Subject"] == subject:
            [recipient] = recipients
            assert recipient not in found, f"{recipient} got {subject!r} twice"
            found[recipient] = mail
    return found


def vevent_of(mail: EmailMessage) -> tuple[str, object]:
    [attachment] = list(mail.iter_attachments())
    calendar = Calendar.from_ical(attachment.get_payload(decode=True))
    assert attachment.get_param("method") == str(calendar["METHOD"])
    [vevent] = calendar.walk("VEVENT")
    return str(calendar["METHOD"]), vevent


def flashes(html: str) -> list[str]:
    return [re.sub(r"\s+", " ", m).strip() for m in re.findall(r'<p class="flash[^"]*" role="status">(.*?)</p>', html, re.S)]


def test_announce_with_reminders_move_then_cancel_through_the_staff_pages(live_app, worker, smtp_server, clock):
    with live_app.app_context():
        admin = StaffUser(email=ADMIN_EMAIL, role=StaffRole.ADMIN)
        admin.set_password(STAFF_PASSWORD)
        db.session.add(admin)
        db.session.commit()
        create_subscribers(3, "events-aarhus", language="da", prefix="aarhus")
        aarhus = topic_id()
        event_id = create_event("Workshop om normer", starts_in=timedelta(days=20), venue="Godsbanen", city="Aarhus",
                              topic_ids=[aarhus])
        uid = db.session.get(Event, event_id).uid
    client = live_app.test_client()
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en"
    assert login(client, ADMIN_EMAIL).status_code == 302

    # Announce the event in one step, then send it now with reminders a week and a day before.
    response = client.post(f"/staff/events/{event_id}/announce", data={"csrf_token": csrf_token(client)})
    mailing_id = int(re.search(r"/mailings/(\d+)/edit", response.headers["Location"]).group(1))
    preview = client.get(f"/staff/mailings/{mailing_id}/preview").get_data(as_text=True)
    response = client.post(f"/staff/mailings/{mailing_id}/send-now",
                           data={**form_fields(preview), "reminders": ["7", "1"]})
    assert response.status_code == 303
    wait_until_sent(live_app, mailing_id, worker)
    announced = mails_with_subject(smtp_server, "Workshop om normer – 31. maj 2026")
    assert set(announced) == {f"aarhus{i}@example.org" for i in range(3)}
    method, published = vevent_of(announced["aarhus0@example.org"])
    assert (method, str(published["UID"]), str(published["STATUS"])) == ("PUBLISH", uid, "CONFIRMED")

    # Move the event three days later: both reminders follow, and staff are shown how.
    edit = client.get(f"/staff/events/{event_id}/edit").get_data(as_text=True)
    response = client.post(f"/staff/events/{event_id}/edit", data={
        **form_fields(edit), "title_da": "Workshop om normer", "event_type": "other", "starts_at": "2026-06-03T14:00",
        "ends_at": "2026-06-03T17:00", "venue_da": "Godsbanen", "city": "Aarhus",
        "topics": [str(aarhus)], "description_da": "", "sessions": "",
    })
    assert response.status_code == 303, response.get_data(as_text=True)
    assert flashes(client.get(f"/staff/events/{event_id}/edit").get_data(as_text=True))[1:] == [
        "2 reminders re-timed to follow the event:",
        "The reminder 7 days before moves from 2026-05-24 14:00 to 2026-05-27 14:00 (Danish time).",
        "The reminder 1 day before moves from 2026-05-30 14:00 to 2026-06-02 14:00 (Danish time).",
        "2 mails about the event that have not gone out yet now show the new details.",  # the reminders' dates
    ]

    # Cancel it: the reminders are withdrawn, and the cancellation mail is offered and sent.
    listing = client.get("/staff/events/").get_data(as_text=True)
    assert client.post(f"/staff/events/{event_id}/cancel", data=form_fields(listing)).status_code == 303
    page = client.get(f"/staff/events/{event_id}/edit").get_data(as_text=True)
    assert "2 reminders cancelled:" in flashes(page) and "Write the cancellation mail" in page
    response = client.post(f"/staff/events/{event_id}/cancellation-notice",
                           data={**form_fields(page), "mailing_id": str(mailing_id)})
    notice_id = int(re.search(r"/mailings/(\d+)/edit", response.headers["Location"]).group(1))
    preview = client.get(f"/staff/mailings/{notice_id}/preview").get_data(as_text=True)
    assert "Reminders before the event" not in preview  # a notice gets no reminders of its own
    assert client.post(f"/staff/mailings/{notice_id}/send-now", data=form_fields(preview)).status_code == 303
    wait_until_sent(live_app, notice_id, worker)

    # Nothing else is due: the withdrawn reminders never go, even when the beat sweeps.
    from mailer.tasks.sending import start_due_mailings

    start_due_mailings.delay()
    time.sleep(2)
    with live_app.app_context():
        kinds = {(a.kind, a.remind_days_before): a.status for a in mailings.mailings_of(event_id)}
    assert kinds == {(MailingKind.ANNOUNCEMENT, None): MailingStatus.SENT,
                     (MailingKind.REMINDER, 7): MailingStatus.CANCELLED,
                     (MailingKind.REMINDER, 1): MailingStatus.CANCELLED,
                     (MailingKind.CANCELLATION, None): MailingStatus.SENT}
    assert not any(parse_mail(data)["Subject"].startswith("Påmindelse") for _, _, data in smtp_server.messages)

    cancelled = mails_with_subject(smtp_server, "Aflyst: Workshop om normer")
    assert set(cancelled) == set(announced)
    method, vevent = vevent_of(cancelled["aarhus0@example.org"])
    assert method == "CANCEL"
    assert str(vevent["UID"]) == uid and str(vevent["STATUS"]) == "CANCELLED"
    assert int(vevent["SEQUENCE"]) > int(published["SEQUENCE"])
    text = cancelled["aarhus0@example.org"].get_body(("plain",)).get_content()
    assert "Aflyst: Workshop om normer" in text and "calendar.google.com" not in text


def test_a_reminder_reaches_the_mailings_recipients_who_are_still_subscribed(live_app, worker, smtp_server, clock):
    from mailer.tasks.sending import start_mailing, start_due_mailings

    with live_app.app_context():
        first = create_subscribers(4, "events-aarhus", language="da", prefix="first")
        event = db.session.get(Event, create_event("Koncert", starts_in=timedelta(days=20), topic_ids=[topic_id()]))
        mailing = mailings.draft_event_mailing(event, None)
        states.send_now(mailing.id)
        reminders.set_reminders(mailing.id, [1], mailer_clock.utcnow())
        mailing_id, uid = mailing.id, event.uid
    start_mailing.delay(mailing_id)
    wait_until_sent(live_app, mailing_id, worker)
    announced = mails_with_subject(smtp_server, "Koncert – 31. maj 2026")
    assert set(announced) == {f"first{i}@example.org" for i in range(4)}

    # In between: one leaves with the one-click link in their mail, one pauses, two new people join.
    one_click = announced["first0@example.org"]["List-Unsubscribe"].split("<", 1)[1].split(">", 1)[0]
    response = live_app.test_client(use_cookies=False).post(path_of(one_click), data={"List-Unsubscribe": "One-Click"})
    assert response.status_code == 200
    with live_app.app_context():
        # The worker reads its own (real) clock, so the pause runs to a real date, not the frozen one.
        db.session.get(Subscriber, first[1]).paused_until = datetime.now(timezone.utc) + timedelta(days=30)
        db.session.commit()
        create_subscribers(2, "events-aarhus", language="da", prefix="later")
        [reminder] = reminders.reminders_of(mailing_id)
        reminder_id = reminder.id

    start_due_mailings.delay()  # what the beat does once the reminder's time has come
    wait_until_sent(live_app, reminder_id, worker)
    reminded = mails_with_subject(smtp_server, "Påmindelse: Koncert, i morgen")
    assert sorted(reminded) == ["first2@example.org", "first3@example.org"]
    method, vevent = vevent_of(reminded["first2@example.org"])
    assert (method, str(vevent["UID"])) == ("PUBLISH", uid)
    text = reminded["first2@example.org"].get_body(("plain",)).get_content()
    assert "https://calendar.google.com/calendar/render?" in text and "https://outlook.live.com/calendar/" in text
    with live_app.app_context():
        assert db.session.get(Mailing, reminder_id).parent_id == mailing_id
