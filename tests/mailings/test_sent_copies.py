"""The copies the archive shows are taken when sending starts, once, in each language the mailing goes out in."""
from __future__ import annotations

from sqlalchemy import select, update

from mailer.extensions import db
from mailer.mailings import states
from mailer.mailings.sent_copies import sent_copy, take_copies
from mailer.models import Mailing, MailingCopy
from tests.factories import create_event, create_mailing, create_subscribers


def test_a_mailing_to_both_languages_keeps_a_copy_in_each_and_the_first_copy_stays(app, clock):
    with app.app_context():
        create_subscribers(1)  # a mailing with nobody to send to never starts
        mailing_id = create_mailing("newsletter", subject="Første udgave")
        states.send_now(mailing_id)
        assert states.start(mailing_id)
        copies = {c.language: c for c in db.session.scalars(select(MailingCopy).filter_by(mailing_id=mailing_id))}
        assert sorted(copies) == ["da", "en"]
        assert "Hej" in copies["da"].text and "Hello" in copies["en"].text
        assert "Første udgave" in copies["en"].html and "/unsubscribe/" not in copies["da"].html
        # Changed afterwards (by hand, here): the copy is what went out, and a second take keeps it.
        db.session.execute(update(Mailing).where(Mailing.id == mailing_id).values(subject_da="Rettet bagefter"))
        db.session.commit()
        take_copies(db.session.get(Mailing, mailing_id))
        db.session.commit()
        assert sent_copy(mailing_id, "da").subject == "Første udgave"


def test_the_archive_page_shows_the_copy_not_the_mailing_as_it_is_now(app, clock):
    with app.app_context():
        create_subscribers(1)
        mailing_id = create_mailing("newsletter", subject="Som sendt", audience_language="da")
        states.send_now(mailing_id)
        assert states.start(mailing_id)
        db.session.execute(update(Mailing).where(Mailing.id == mailing_id)
                           .values(subject_da="Ændret senere", body_markdown_da="Ny tekst"))
        db.session.commit()
    page = app.test_client().get(f"/archive/{mailing_id}").get_data(as_text=True)
    assert "Som sendt" in page and "Ændret senere" not in page and "Ny tekst" not in page


def test_the_archive_copy_of_an_event_mailing_points_to_no_attachment(app, clock):
    """The mail says "open the attached event.ics file"; its web copy has no attachment, so it does not."""
    with app.app_context():
        create_subscribers(1)
        event_id = create_event("Workshop i Aarhus")
        mailing_id = create_mailing("newsletter", subject="Kom til workshop")
        db.session.execute(update(Mailing).where(Mailing.id == mailing_id).values(event_id=event_id))
        db.session.commit()
        states.send_now(mailing_id)
        assert states.start(mailing_id)
        copy = sent_copy(mailing_id, "da")
    assert "event.ics" not in copy.text and "event.ics" not in copy.html
    assert "Workshop i Aarhus" in copy.text and "Google Calendar" in copy.text  # the card is there
