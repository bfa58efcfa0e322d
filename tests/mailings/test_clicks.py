"""Counted links: a click is counted per link and redirects to the exact URL; nothing names a person."""
from __future__ import annotations

import re

from mailer.extensions import db
from mailer.models import ConsentEvent, MailingLink, MailingStatus
from mailer.tokens import sign_click
from tests.factories import create_mailing, create_subscribers
from tests.helpers import mail_text, parse_mail, path_of, send_in_process

ORIGINAL = "https://example.org/tilmeld?dato=2026-09-19&sted=Aarhus#program"
BODY = (f"Kom til workshop.\n\n[Tilmeld dig]({ORIGINAL})\n\nEller læs mere på https://example.org/om.\n\n"
        "[Skriv til os](mailto:info@example.org)")
CLICK_RE = re.compile(r"https://news\.example\.org/l/[A-Za-z0-9_.-]+")


def _send(app, outbox, body: str = BODY, readers: int = 3) -> int:
    with app.app_context():
        create_subscribers(readers, "newsletter")
        mailing_id = create_mailing("newsletter", body=body)
        from mailer.mailings import states
        states.send_now(mailing_id)
        send_in_process(mailing_id)
    return mailing_id


def _links(text: str) -> list[str]:
    return [link.rstrip(".") for link in CLICK_RE.findall(text)]  # a full stop after a link is prose


def _html(data: bytes) -> str:
    return parse_mail(data).get_body(("html",)).get_content()


def test_a_click_is_counted_and_redirects_to_the_exact_original_url(app, client, outbox):
    mailing_id = _send(app, outbox)
    first = mail_text(outbox.sent[0][2])
    links = _links(first)
    assert len(links) == 1                       # the one web link; mailto and a bare URL stay as they are
    assert "mailto:info@example.org" in _html(outbox.sent[0][2])
    assert ORIGINAL not in first and "https://example.org/om." in first
    response = client.get(path_of(links[0]))
    assert response.status_code == 302
    assert response.headers["Location"] == ORIGINAL
    client.get(path_of(links[0]))
    with app.app_context():
        counts = {link.url: link.clicks for link in db.session.scalars(db.select(MailingLink).filter_by(mailing_id=mailing_id))}
    assert counts == {ORIGINAL: 2}


def test_the_html_and_text_parts_share_one_token_per_link_and_every_reader_gets_the_same(app, outbox):
    _send(app, outbox)
    html_links = [set(_links(_html(data))) for _, _, data in outbox.sent]
    text_links = [set(_links(mail_text(data))) for _, _, data in outbox.sent]
    assert html_links[0] == text_links[0]
    assert all(links == html_links[0] for links in html_links + text_links)  # nothing personal in the token


def test_unsubscribe_manage_and_list_unsubscribe_links_are_not_rewritten(app, outbox):
    _send(app, outbox, readers=1)
    message = parse_mail(outbox.sent[0][2])
    text = mail_text(outbox.sent[0][2])
    assert "/unsubscribe/" in text and "/manage/" in text
    assert "/one-click/" in message["List-Unsubscribe"] and "/l/" not in message["List-Unsubscribe"]


def test_a_tampered_or_foreign_token_gets_404_never_a_redirect(app, client, outbox):
    mailing_id = _send(app, outbox, readers=1)
    link = path_of(_links(mail_text(outbox.sent[0][2]))[0])
    token = link.rsplit("/", 1)[1]
    tampered = token[:-2] + ("AA" if not token.endswith("AA") else "BB")
    unsubscribe_token = path_of(re.search(r"https://news\.example\.org/unsubscribe/\S+", mail_text(outbox.sent[0][2])).group(0)).rsplit("/", 1)[1]
    with app.app_context():
        other_mailing = create_mailing("newsletter", status=MailingStatus.SENT)
        link_id = db.session.scalar(db.select(MailingLink.id).filter_by(mailing_id=mailing_id))
        wrong_pair = sign_click(other_mailing, link_id)   # a real link under another mailing's name
    for bad in (tampered, unsubscribe_token, wrong_pair, "x", "W10.abc"):
        response = client.get(f"/l/{bad}")
        assert response.status_code == 404, bad
        assert "Location" not in response.headers


def test_link_counting_off_leaves_links_direct(app, outbox):
    app.config["LINK_COUNTING"] = False
    mailing_id = _send(app, outbox, readers=1)
    text = mail_text(outbox.sent[0][2])
    assert ORIGINAL in text and "/l/" not in text
    with app.app_context():
        assert db.session.scalar(db.select(db.func.count()).select_from(MailingLink).filter_by(mailing_id=mailing_id)) == 0


def test_unsubscribing_from_a_mailing_records_the_mailing_in_the_consent_ledger(app, client, outbox):
    mailing_id = _send(app, outbox, readers=1)
    one_click = parse_mail(outbox.sent[0][2])["List-Unsubscribe"].split("<", 1)[1].split(">", 1)[0]
    assert client.post(path_of(one_click), data={"List-Unsubscribe": "One-Click"}).status_code == 200
    with app.app_context():
        rows = list(db.session.scalars(db.select(ConsentEvent).filter_by(action="unsubscribe")))
    assert rows and {row.mailing_id for row in rows} == {mailing_id}
