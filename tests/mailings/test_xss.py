"""A <script> in a subject, a body, a name or an event never reaches a page or a mail as markup."""
from __future__ import annotations

from datetime import datetime, timezone

from sqlalchemy import update

from mailer.extensions import db
from mailer.models import Mailing, MailingStatus, Subscriber
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


SCRIPT = "<script>alert(1)</script>"


def test_subject_with_script_is_escaped_on_every_page(app, editor):
    with app.app_context():
        mailing_id = create_mailing("newsletter", subject="Hej " + SCRIPT)
    for path in ("/staff/mailings/", f"/staff/mailings/{mailing_id}/preview",
                 f"/staff/mailings/{mailing_id}/edit"):
        page = editor.get(path).get_data(as_text=True)
        assert SCRIPT not in page, path
        assert "&lt;script&gt;" in page, path
    with app.app_context():
        db.session.execute(update(Mailing).where(Mailing.id == mailing_id)
                           .values(status=MailingStatus.SENT))
        db.session.commit()
    for path in ("/archive", f"/archive/{mailing_id}"):
        page = app.test_client().get(path).get_data(as_text=True)
        assert SCRIPT not in page and "alert(1)" in page, path


def test_script_in_body_event_and_name_never_reaches_a_mail_as_markup(app, outbox):
    with app.app_context():
        [reader] = create_subscribers(1, language="da")
        db.session.get(Subscriber, reader).name = "Eve " + SCRIPT
        event_id = create_event(**{**WORKSHOP, "title": "Fest " + SCRIPT, "description_markdown": "Kom " + SCRIPT,
                                   "venue": "Sal " + SCRIPT, "image_alt": '" onerror="alert(1)'})
        mailing_id = create_mailing("newsletter", subject="Nyt " + SCRIPT,
                                              body="Tekst\n\n" + SCRIPT + "\n\n<img src=x onerror=alert(1)>")
        db.session.execute(update(Mailing).where(Mailing.id == mailing_id).values(event_id=event_id))
        db.session.commit()
        states.send_now(mailing_id)
        assert states.start(mailing_id)
        SendingRun(mailing_id, "w", build_sender(), engine_settings()).run()
    [(_, _, data)] = outbox.sent
    mail = parse_mail(data)
    html = mail.get_body(("html",)).get_content()
    assert "<script" not in html.lower()
    assert 'alt="&quot; onerror=&quot;alert(1)"' in html  # the alt text stays inside its attribute
    assert ' onerror="' not in html and "onerror=alert" not in html  # nh3 dropped the body's handler
    assert "Hej Eve &lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "Fest &lt;script&gt;" in html and "Sal &lt;script&gt;" in html
    assert mail["Subject"] == "Nyt " + SCRIPT  # a header is text, not markup
