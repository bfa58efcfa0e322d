"""A mailing of an event: the card in both parts and an .ics attachment, in a real send."""
from __future__ import annotations

from datetime import datetime, timezone

from icalendar import Calendar
from sqlalchemy import update

from mailer.extensions import db
from mailer.models import Mailing
from mailer.mailings import states
from mailer.sending.engine import SendingRun
from mailer.sending.run_setup import build_sender, engine_settings
from tests.factories import create_event, create_mailing, create_subscribers
from tests.helpers import parse_mail

# The event the mailing is about: a workshop in Aarhus in 2031, with an image and a signup link.
WORKSHOP = dict(
    title="Workshop: normer og privilegier", event_type="workshop",
    starts_at=datetime(2031, 9, 19, 15, 0, tzinfo=timezone.utc), ends_at=datetime(2031, 9, 19, 18, 0, tzinfo=timezone.utc),
    venue="Musikhuset", city="Aarhus", image_url="https://example.org/workshop.jpg",
    image_alt="Deltagere i en rundkreds", signup_url="https://example.org/tilmeld", language="da",
)



def _send(mailing_id: int) -> None:
    states.send_now(mailing_id)
    assert states.start(mailing_id)
    SendingRun(mailing_id, "test-worker", build_sender(), engine_settings()).run()


def test_the_event_card_and_calendar_file_reach_each_recipient(app, outbox):
    with app.app_context():
        create_subscribers(2, language="da", prefix="da")
        create_subscribers(1, language="en", prefix="en")
        event_id = create_event(**WORKSHOP)
        mailing_id = create_mailing("newsletter")
        db.session.execute(update(Mailing).where(Mailing.id == mailing_id).values(event_id=event_id))
        db.session.commit()
        _send(mailing_id)
    assert len(outbox.sent) == 3
    for _, recipient, data in outbox.sent:
        mail = parse_mail(data)
        assert mail.get_content_type() == "multipart/mixed"
        html = mail.get_body(("html",)).get_content()
        text = mail.get_body(("plain",)).get_content()
        for part in (html, text):
            assert "Workshop: normer og privilegier" in part
            assert "Musikhuset, Aarhus" in part
            assert "https://example.org/tilmeld" in part
            assert "https://calendar.google.com/calendar/render?" in part
            assert "https://outlook.live.com/calendar/" in part
            assert f"https://news.example.org/archive/{mailing_id}" in part  # view in browser
        assert 'alt="Deltagere i en rundkreds"' in html and "https://example.org/workshop.jpg" in html
        # 15:00 UTC on 19 September is 17:00 in Copenhagen (summer time), in the reader's language.
        if recipient.startswith("da"):
            assert "fredag den 19. september 2031, 17.00–20.00" in text
        else:
            assert "Friday, September 19, 2031, 17:00–20:00" in text
        [attachment] = list(mail.iter_attachments())
        assert attachment.get_filename() == "event.ics"
        assert attachment.get_content_type() == "text/calendar"
        assert attachment.get_param("method") == "PUBLISH"
        calendar = Calendar.from_ical(attachment.get_payload(decode=True))
        assert calendar["METHOD"] == "PUBLISH"
        [vevent] = calendar.walk("VEVENT")
        assert str(vevent["SUMMARY"]) == "Workshop: normer og privilegier"
        assert vevent.decoded("DTSTART").isoformat() == "2031-09-19T15:00:00+00:00"


def test_an_online_event_says_online(app, outbox):
    with app.app_context():
        create_subscribers(1, language="en", prefix="en")
        event_id = create_event(**{**WORKSHOP, "is_online": True, "venue": None, "city": None,
                                   "online_url": "https://meet.example.org/x"})
        mailing_id = create_mailing("newsletter")
        db.session.execute(update(Mailing).where(Mailing.id == mailing_id).values(event_id=event_id))
        db.session.commit()
        _send(mailing_id)
    text = parse_mail(outbox.sent[0][2]).get_body(("plain",)).get_content()
    assert "Where: Online" in text
