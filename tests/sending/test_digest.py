"""The upcoming-events digest through the sending engine: who gets one, what it lists, what counts as new.

The clock is fixed (tests.clock.NOW) for everything the digest decides: the period, which
events are upcoming and which are new. Pauses are measured against the real clock, as the
engine does.
"""
from __future__ import annotations

from datetime import timedelta
from email.message import EmailMessage

import pytest
from sqlalchemy import select, update

from mailer.mailings.digests import create_due_digest
from mailer.events.calendar import calendar_links
from mailer.clock import format_when
from mailer.events.service import cancel_event
from mailer.extensions import db
from mailer.models import Mailing, MailingStatus, Delivery, Event, Subscriber, SubscriberStatus
from mailer.models.types import utcnow
from mailer.mailings import states
from mailer.sending.engine import SendingRun
from mailer.sending.run_setup import build_sender, engine_settings
from mailer.mail.transports import PermanentSendError, TransientSendError
from tests.clock import NOW, WEEK
from tests.factories import create_event, create_subscriber
from tests.helpers import digest_rows, parse_mail, path_of

DAY = timedelta(days=1)


def send_digest(now, transport=None) -> int:
    """What beat and a worker do: make the period's digest, start it and send it; return its id."""
    digest_id = create_due_digest(now)
    assert digest_id is not None
    assert states.start(digest_id)
    sender = build_sender()
    if transport is not None:
        sender.transports = [transport]
    SendingRun(digest_id, "test-worker", sender, engine_settings()).run()
    assert states.status_of(digest_id) == MailingStatus.SENT
    return digest_id


def mails(outbox, since: int = 0) -> dict[str, EmailMessage]:
    """The mails sent after the first `since`, parsed strictly, by recipient."""
    return {recipient: parse_mail(data) for _, recipient, data in outbox.sent[since:]}


def text_of(mail: EmailMessage) -> str:
    return mail.get_body(("plain",)).get_content()


def html_of(mail: EmailMessage) -> str:
    return mail.get_body(("html",)).get_content()


class RefusingTransport:
    """Answers every try for the chosen addresses with the same error; takes everything else."""

    def __init__(self, errors: dict[str, Exception]) -> None:
        self.errors = errors
        self.tries: dict[str, int] = {}

    def send(self, sender: str, recipient: str, data: bytes, *, wire_ready: bool = False) -> str:
        parse_mail(data)
        self.tries[recipient] = self.tries.get(recipient, 0) + 1
        if recipient in self.errors:
            raise self.errors[recipient]
        return "250 ok"

    def close(self) -> None:
        pass


def test_only_readers_who_chose_the_digest_get_it_and_a_pause_holds_it_back(app, outbox):
    with app.app_context():
        create_event("Workshop om normer og privilegier", "events-copenhagen", created_at=NOW - WEEK, starts_at=NOW + WEEK,
                     hours=2, venue="Literaturhaus", city="København")
        create_subscriber("mailings@example.org", "events-copenhagen", frequency="announcements")
        create_subscriber("digest@example.org", "events-copenhagen", frequency="digest")
        create_subscriber("both@example.org", "events-copenhagen", frequency="both")
        create_subscriber("paused@example.org", "events-copenhagen", paused_until=utcnow() + 30 * DAY, frequency="digest")
        create_subscriber("pause-over@example.org", "events-copenhagen", paused_until=utcnow() - DAY, frequency="digest")
        create_subscriber("pending@example.org", "events-copenhagen", status=SubscriberStatus.PENDING, frequency="digest")
        create_subscriber("aarhus-only@example.org", "events-aarhus", frequency="digest")  # nothing in Aarhus: no (empty) mail
        digest_id = send_digest(NOW)
        assert digest_rows(digest_id) == {"digest@example.org": "sent", "both@example.org": "sent",
                                          "pause-over@example.org": "sent"}
    assert sorted(mails(outbox)) == ["both@example.org", "digest@example.org", "pause-over@example.org"]


def test_each_digest_lists_the_upcoming_events_of_the_readers_topics_in_their_language(app, outbox, clock):
    with app.app_context():
        mette = create_subscriber("mette@example.org", "events-copenhagen", "online-courses", name="Mette Ørsted", frequency="digest")
        create_subscriber("freja@example.org", "events-aarhus", frequency="both", language="en")
        seen = create_event("Netværksmøde på Literaturhaus", "events-copenhagen", created_at=NOW - 3 * WEEK,
                            starts_at=NOW + 2 * WEEK, hours=2, venue="Literaturhaus", city="København")
        send_digest(NOW - WEEK)  # Mette got the networking event last week; nothing in Aarhus then
        assert sorted(mails(outbox)) == ["mette@example.org"]
        before = len(outbox.sent)

        workshop = create_event("Workshop: normer og privilegier", "events-copenhagen", created_at=NOW - 2 * DAY,
                                starts_at=NOW + 10 * DAY, hours=2, venue="Literaturhaus", city="København")
        course = create_event("Onlinekursus i inkluderende ledelse", "online-courses", created_at=NOW - 2 * DAY,
                              starts_at=NOW + 20 * DAY, is_online=True, venue=None, city=None, hours=2)
        aarhus = create_event("Netværk i Aarhus", "events-aarhus", created_at=NOW - 2 * DAY, starts_at=NOW + 5 * DAY,
                              venue="VEGA", city="Aarhus", hours=2)
        create_event("Allerede slut", "events-copenhagen", created_at=NOW - 2 * DAY, starts_at=NOW - DAY,
                     hours=2, venue="Literaturhaus", city="København")
        cancelled = create_event("Aflyst debat", "events-copenhagen", created_at=NOW - 2 * DAY, starts_at=NOW + 3 * DAY,
                                 hours=2, venue="Literaturhaus", city="København")
        cancel_event(db.session.get(Event, cancelled))
        create_event("Oprettet efter digestet", "events-copenhagen", created_at=NOW + timedelta(hours=1),
                     starts_at=NOW + 4 * DAY, hours=2, venue="Literaturhaus", city="København")
        db.session.commit()
        digest_id = send_digest(NOW)
        assert digest_rows(digest_id) == {"mette@example.org": "sent", "freja@example.org": "sent"}
        events = {i: db.session.get(Event, i) for i in (seen, workshop, course, aarhus)}
        when = {(i, lang): format_when(e.starts_at, e.ends_at, lang) for i, e in events.items() for lang in ("da", "en")}
        links = {i: calendar_links(e) for i, e in events.items()}
        assert db.session.get(Subscriber, mette).status == SubscriberStatus.CONFIRMED

    got = mails(outbox, before)
    danish = got["mette@example.org"]
    assert danish["Subject"] == "Kommende arrangementer: 2 nye"
    assert danish["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert not list(danish.iter_attachments())  # several events: calendar links, no .ics
    text = text_of(danish)
    assert "Hej Mette Ørsted" in text
    # Soonest first; only the events created since her last digest are marked new.
    titles = ("Netværksmøde på Literaturhaus", "Workshop: normer og privilegier", "Onlinekursus i inkluderende ledelse")
    listed = [line for line in text.splitlines() if line.endswith(titles)]
    assert listed == ["[Nyt] Workshop: normer og privilegier", "Netværksmøde på Literaturhaus",
                      "[Nyt] Onlinekursus i inkluderende ledelse"]
    for absent in ("Netværk i Aarhus", "Allerede slut", "Aflyst debat", "Oprettet efter digestet"):
        assert absent not in text
    for event_id in (seen, workshop, course):
        assert f"Hvornår: {when[event_id, 'da']}" in text
        assert f"https://news.example.org/events/{event_id}" in text
        assert f"Google Calendar: {links[event_id]['google']}" in text
        assert f"Outlook: {links[event_id]['outlook']}" in text
    assert "Hvor: Literaturhaus, København" in text and "Hvor: Online" in text
    html = html_of(danish)
    assert '<html lang="da">' in html and html.count(">Nyt</strong>") == 2
    for event_id in (seen, workshop, course):
        assert links[event_id]["google"].replace("&", "&amp;") in html
        assert links[event_id]["outlook"].replace("&", "&amp;") in html
        assert f'href="https://news.example.org/events/{event_id}?lang=da"' in html

    english = got["freja@example.org"]
    assert english["Subject"] == "Upcoming events: 1 new"
    text = text_of(english)
    assert "[New] Netværk i Aarhus" in text and f"When: {when[aarhus, 'en']}" in text and "Where: VEGA, Aarhus" in text
    assert "Workshop" not in text and "Onlinekursus" not in text
    assert '<html lang="en">' in html_of(english)


def test_a_second_run_with_nothing_new_sends_nothing_and_says_so_to_staff(app, outbox, admin):
    with app.app_context():
        create_subscriber("mette@example.org", "events-copenhagen", frequency="digest")
        create_event("Workshop i København", "events-copenhagen", created_at=NOW - 2 * WEEK, starts_at=NOW + 3 * WEEK,
                     hours=2, venue="Literaturhaus", city="København")
        first = send_digest(NOW - WEEK)
        sent_before = len(outbox.sent)
        second = send_digest(NOW)
        assert digest_rows(first) == {"mette@example.org": "sent"}
        assert digest_rows(second) == {}
    assert sent_before == 1 and len(outbox.sent) == 1
    page = admin.get(f"/staff/mailings/{second}").get_data(as_text=True)
    assert "No one had new events since their last digest" in page
    assert 'role="alert"' not in page  # nothing to worry about
    listing = admin.get("/staff/mailings/").get_data(as_text=True)
    assert f'href="/staff/mailings/{second}"' in listing  # a digest opens on its progress page
    # It has no draft to edit, preview or test-send: those pages lead to its progress page.
    for path in (f"/staff/mailings/{second}/edit", f"/staff/mailings/{second}/preview"):
        response = admin.get(path)
        assert response.status_code == 302 and response.headers["Location"].endswith(f"/staff/mailings/{second}")


@pytest.mark.parametrize("fault", ["451 until the retries run out", "550, then they sign up again"])
def test_a_digest_that_did_not_arrive_leaves_its_events_new(app, outbox, fault):
    app.config["SEND_RETRY_SECONDS"] = 0
    with app.app_context():
        lost = create_subscriber("lost@example.org", "events-copenhagen", frequency="digest")
        create_subscriber("got@example.org", "events-copenhagen", frequency="digest")
        create_event("Workshop i København", "events-copenhagen", created_at=NOW - 2 * WEEK, starts_at=NOW + 3 * WEEK,
                     hours=2, venue="Literaturhaus", city="København")
        if fault.startswith("451"):
            error = TransientSendError("451 try later", code=451, reply="451 try later", stage="rcpt")
        else:
            error = PermanentSendError("550 mailbox full", code=550, reply="550 mailbox full", stage="rcpt")
        transport = RefusingTransport({"lost@example.org": error})
        first = send_digest(NOW - WEEK, transport)
        assert digest_rows(first) == {"lost@example.org": "failed" if fault.startswith("451") else "bounced",
                                      "got@example.org": "sent"}
        if fault.startswith("550"):
            db.session.execute(update(Subscriber).where(Subscriber.id == lost).values(status=SubscriberStatus.CONFIRMED))
            db.session.commit()
        second = send_digest(NOW)  # no event is newer than the first digest...
        assert digest_rows(second) == {"lost@example.org": "sent"}  # ...but lost@ never got it
    assert transport.tries["lost@example.org"] == (5 if fault.startswith("451") else 1)
    (mail,) = mails(outbox).values()
    assert "[Nyt] Workshop i København" in text_of(mail)


def test_the_links_in_a_digest_let_the_reader_leave_in_one_click(app, outbox):
    with app.app_context():
        create_subscriber("mette@example.org", "events-copenhagen", "online-courses", frequency="digest")
        create_subscriber("freja@example.org", "events-copenhagen", frequency="digest")
        create_event("Workshop i København", "events-copenhagen", created_at=NOW - WEEK, starts_at=NOW + WEEK,
                     hours=2, venue="Literaturhaus", city="København")
        send_digest(NOW)
    mail = mails(outbox)["mette@example.org"]
    one_click = mail["List-Unsubscribe"].split("<", 1)[1].split(">", 1)[0]
    assert "mailto:" in mail["List-Unsubscribe"]
    for link in ("https://news.example.org/unsubscribe/", "https://news.example.org/manage/"):
        assert link in text_of(mail) and link in html_of(mail)
    response = app.test_client(use_cookies=False).post(path_of(one_click), data={"List-Unsubscribe": "One-Click"})
    assert response.status_code == 200
    with app.app_context():
        statuses = dict(db.session.execute(select(Subscriber.email, Subscriber.status)).all())
    assert statuses == {"mette@example.org": SubscriberStatus.UNSUBSCRIBED, "freja@example.org": SubscriberStatus.CONFIRMED}


def test_a_digest_whose_new_events_were_deleted_after_the_snapshot_sends_nothing(app, outbox):
    with app.app_context():
        create_subscriber("mette@example.org", "events-copenhagen", frequency="digest")
        event_id = create_event("Workshop i København", "events-copenhagen", created_at=NOW - WEEK, starts_at=NOW + WEEK,
                                hours=2, venue="Literaturhaus", city="København")
        digest_id = create_due_digest(NOW)
        assert states.start(digest_id)
        db.session.delete(db.session.get(Event, event_id))
        db.session.commit()
        SendingRun(digest_id, "test-worker", build_sender(), engine_settings()).run()
        assert digest_rows(digest_id) == {"mette@example.org": "failed"}
        assert "no new event left" in db.session.scalar(select(Delivery.last_error))
    assert outbox.sent == []


def test_digests_have_no_public_copy(app, client, outbox):
    with app.app_context():
        create_subscriber("mette@example.org", "events-copenhagen", frequency="digest")
        create_event("Workshop i København", "events-copenhagen", created_at=NOW - WEEK, starts_at=NOW + WEEK,
                     hours=2, venue="Literaturhaus", city="København")
        digest_id = send_digest(NOW)
        subject = db.session.get(Mailing, digest_id).subject_da
    assert subject not in client.get("/archive").get_data(as_text=True)
    assert client.get(f"/archive/{digest_id}").status_code == 404


def test_a_reader_who_takes_both_gets_an_event_once_as_new(app, outbox, clock):
    """Announced to a "both" reader: listed in their digest, not marked "New" again, and no digest for it alone."""
    from mailer.events.mailings import draft_event_mailing
    from tests.every_mail_kind import send_in_process

    with app.app_context():
        create_subscriber("both@example.org", "events-aarhus", frequency="both", language="en")
        create_subscriber("digest@example.org", "events-aarhus", frequency="digest", language="en")
        announced = db.session.get(Event, create_event("Announced workshop", "events-aarhus", created_at=NOW - DAY,
                                                       starts_at=NOW + 2 * WEEK))
        mailing = draft_event_mailing(announced, None)
        mailing.audience_language = None  # to both readers' language
        db.session.commit()
        states.send_now(mailing.id)
        send_in_process(mailing.id)
        assert [recipient for _, recipient, _ in outbox.sent] == ["both@example.org"]

        send_digest(NOW)  # only the announced event is new: the "both" reader already has it
        got = mails(outbox, since=1)
        assert sorted(got) == ["digest@example.org"]
        assert "[New] Announced workshop" in text_of(got["digest@example.org"])

        create_event("Unannounced talk", "events-aarhus", created_at=NOW + DAY, starts_at=NOW + 3 * WEEK)
        send_digest(clock.set(NOW + WEEK))
        got = mails(outbox, since=2)
        both = text_of(got["both@example.org"])
        assert "[New] Unannounced talk" in both
        assert "Announced workshop" in both and "[New] Announced workshop" not in both
