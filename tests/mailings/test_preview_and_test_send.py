"""Preview as a chosen subscriber, and test sends through the engine's render and build path."""
from __future__ import annotations

import html as html_lib

import pytest

from mailer.mailings.preview import render_preview, send_test
from mailer.extensions import db
from mailer.models import Subscriber
from tests.helpers import form_fields, parse_mail
from tests.factories import create_mailing, create_subscribers


def _subscriber(app, email: str, *, name: str, language: str) -> int:
    with app.app_context():
        [subscriber_id] = create_subscribers(1, prefix=email.split("@")[0], language=language)
        subscriber = db.session.get(Subscriber, subscriber_id)
        subscriber.name = name
        db.session.commit()
        return subscriber_id


def test_preview_shows_the_mail_as_the_chosen_subscriber_gets_it(app, admin):
    åse = _subscriber(app, "aase@example.org", name="Åse Ødegård", language="en")
    with app.app_context():
        mailing_id = create_mailing("newsletter")
        public_id = db.session.get(Subscriber, åse).public_id
    search = admin.get(f"/staff/mailings/{mailing_id}/preview?q=AASE").get_data(as_text=True)
    assert f"subscriber={åse}" in search
    response = admin.get(f"/staff/mailings/{mailing_id}/preview?subscriber={åse}")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert 'sandbox=""' in page and "srcdoc=" in page
    assert "Ny workshop i Aarhus" in page
    srcdoc = html_lib.unescape(page.split('srcdoc="', 1)[1].split('"', 1)[0])
    assert "Hello Åse Ødegård," in srcdoc and '<html lang="en">' in srcdoc
    text = html_lib.unescape(page.split('<pre class="mail-text">', 1)[1].split("</pre>", 1)[0])
    assert "Hello Åse Ødegård," in text and "https://news.example.org/unsubscribe/" in text
    with app.app_context():
        message = render_preview(mailing_id, åse)
        link = message.text.split("https://news.example.org", 1)[1].split("/unsubscribe/", 1)[1].split()[0]
    # A preview's links look like the subscriber's but open nothing (issue 10, item 1).
    assert app.test_client().get("/unsubscribe/" + link).status_code == 400
    assert public_id not in link  # tokens carry the opaque id signed, never in the clear with the address
    assert "aase" not in link


def test_a_missing_subscriber_or_mailing_is_a_clean_answer(app, admin):
    with app.app_context():
        mailing_id = create_mailing("newsletter")
    assert admin.get(f"/staff/mailings/{mailing_id}/preview?subscriber=999999").status_code == 200
    assert admin.get("/staff/mailings/999999/preview").status_code == 404
    assert admin.get(f"/staff/mailings/{mailing_id}/preview?subscriber=abc").status_code == 200


def test_a_test_send_arrives_with_the_test_prefix_and_parses_cleanly(app, admin, outbox):
    with app.app_context():
        mailing_id = create_mailing("newsletter")
    page = admin.get(f"/staff/mailings/{mailing_id}/preview").get_data(as_text=True)
    response = admin.post(f"/staff/mailings/{mailing_id}/test", data={
        **form_fields(page), "addresses": "anna@example.org, bo@example.org", "language": "da"})
    assert response.status_code == 303
    assert [recipient for _, recipient, _ in outbox.sent] == ["anna@example.org", "bo@example.org"]
    for sender, recipient, data in outbox.sent:
        mail = parse_mail(data)
        assert sender == "news@example.org"
        assert mail["Subject"] == "[TEST] Ny workshop i Aarhus"
        assert mail["To"] == recipient
        assert mail["List-Id"] and mail["Message-ID"] and mail["Date"]
        assert mail["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
        assert "Hej Test" in mail.get_body(("plain",)).get_content()
        assert "<strong>workshop</strong>" in mail.get_body(("html",)).get_content()


@pytest.mark.parametrize("addresses, message", [
    ("", "Please enter at least one address."),
    ("not an address", "is not a valid email address"),
    (", ".join(f"a{i}@example.org" for i in range(11)), "At most 10 addresses."),
    ("a@example.org\r\nBcc: x@example.org", "Line breaks"),
])
def test_bad_test_addresses_are_refused_with_a_message(app, editor, outbox, addresses, message):
    with app.app_context():
        mailing_id = create_mailing("newsletter")
    page = editor.get(f"/staff/mailings/{mailing_id}/preview").get_data(as_text=True)
    response = editor.post(f"/staff/mailings/{mailing_id}/test", data={**form_fields(page), "addresses": addresses})
    assert response.status_code == 400
    assert message in html_lib.unescape(response.get_data(as_text=True))
    assert outbox.sent == []


def test_send_test_uses_the_given_transport(app):
    class Recorder:
        def __init__(self):
            self.sent = []

        def send(self, sender, recipient, data):
            self.sent.append((recipient, data))
            return "250 ok"

        def close(self):
            pass

    recorder = Recorder()
    with app.app_context():
        mailing_id = create_mailing("newsletter", audience_language="en")
        ids = send_test(mailing_id, ["staff@example.org"], recorder)
    assert len(ids) == 1 and ids[0].startswith("<")
    mail = parse_mail(recorder.sent[0][1])
    assert mail["Message-ID"] == ids[0]
    assert '<html lang="en">' in mail.get_body(("html",)).get_content()
