"""Every public page and every mail exists in Danish and English."""
from __future__ import annotations

import re

import pytest

from mailer.extensions import db
from mailer.models import Subscriber, SubscriberStatus, Subscription, SubscriptionStatus, Topic
from mailer.subscribers.owed_mails import deliver_link_mail, deliver_welcome_mail
from mailer.models.types import utcnow
from mailer.tokens import TokenPurpose
from tests.factories import create_subscriber_tokens
from tests.helpers import parse_mail

HEADING = re.compile(r"<h1>(.*?)</h1>", re.S)


@pytest.fixture
def tokens(app):
    """Tokens of a pending subscriber of the newsletter."""
    with app.app_context():
        return create_subscriber_tokens("both@example.org", confirmed=False, language="da")


def _pages(tokens):
    return [
        "/subscribe",
        "/subscribe/check-inbox",
        "/confirm/" + tokens[TokenPurpose.CONFIRM],
        "/manage/" + tokens[TokenPurpose.MANAGE],
        "/unsubscribe/" + tokens[TokenPurpose.UNSUBSCRIBE],
        "/confirm/not-a-token",
        "/no-such-page",
        "/staff/login",
    ]


def test_every_page_has_a_danish_and_an_english_version(app, tokens):
    for path in _pages(tokens):
        headings = {}
        for language in ("da", "en"):
            response = app.test_client().get(path + f"?lang={language}")
            page = response.get_data(as_text=True)
            assert f'<html lang="{language}">' in page, path
            headings[language] = HEADING.search(page).group(1).strip()
        assert headings["da"] != headings["en"], f"{path} shows the same heading in both languages"


def test_accept_language_picks_the_language_and_the_switch_is_remembered(app):
    client = app.test_client()
    assert '<html lang="en">' in client.get("/subscribe", headers={"Accept-Language": "en-GB,en;q=0.8"}).get_data(as_text=True)
    assert '<html lang="da">' in client.get("/subscribe", headers={"Accept-Language": "da"}).get_data(as_text=True)
    client.get("/subscribe?lang=en", headers={"Accept-Language": "da"})
    assert '<html lang="en">' in client.get("/subscribe", headers={"Accept-Language": "da"}).get_data(as_text=True)


def test_link_pages_speak_the_subscribers_language(app, tokens):
    page = app.test_client().get("/manage/" + tokens[TokenPurpose.MANAGE], headers={"Accept-Language": "en"})
    assert '<html lang="da">' in page.get_data(as_text=True)


@pytest.mark.parametrize("deliver", [deliver_link_mail, deliver_welcome_mail])
def test_every_mail_has_a_danish_and_an_english_version(app, outbox, deliver):
    texts = {}
    for language in ("da", "en"):
        with app.app_context():
            subscriber = db.session.scalar(db.select(Subscriber).filter_by(email="mail@example.org"))
            if subscriber is None:
                topic = db.session.scalar(db.select(Topic).filter_by(slug="newsletter"))
                subscriber = Subscriber(email="mail@example.org")
                subscriber.subscriptions.append(Subscription(topic_id=topic.id, status=SubscriptionStatus.UNCONFIRMED))
                db.session.add(subscriber)
            subscriber.language = language
            subscriber.link_requested_at = utcnow()
            if deliver is deliver_welcome_mail:
                subscriber.status = SubscriberStatus.CONFIRMED
                subscriber.confirmed_at = utcnow()
                subscriber.subscriptions[0].status = SubscriptionStatus.CONFIRMED
            db.session.commit()
            assert deliver(subscriber.id, outbox)
        mail = parse_mail(outbox.sent[-1][2])
        html = mail.get_body(("html",)).get_content()
        assert f'<html lang="{language}">' in html
        texts[language] = (mail["Subject"], mail.get_body(("plain",)).get_content())
    assert texts["da"][0] != texts["en"][0]
    assert texts["da"][1] != texts["en"][1]
