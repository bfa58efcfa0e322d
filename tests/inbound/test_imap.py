"""The IMAP poller hands each message to the same actions and deletes only what it recorded."""
from __future__ import annotations

import imaplib

import pytest

from mailer import create_app
from mailer.extensions import db
from mailer.inbound import imap
from mailer.models import Subscriber, SubscriberStatus
from tests.inbound.conftest import add_subscriber, sample
from tests.smtp_server import free_port


class FakeMailbox:
    """Enough of imaplib.IMAP4 for the poller: numbered messages, \\Deleted flags, expunge."""

    def __init__(self, messages: list[bytes]) -> None:
        self.messages = {str(i + 1).encode(): m for i, m in enumerate(messages)}
        self.deleted: set[bytes] = set()
        self.logins: list[tuple[str, str]] = []

    def __call__(self, host, port):  # stands in for the IMAP4_SSL class
        self.address = (host, port)
        return self

    def login(self, user, password):
        self.logins.append((user, password))

    def select(self, folder):
        self.folder = folder

    def uid(self, command, *args):
        if command == "SEARCH":
            return "OK", [b" ".join(self.messages)]
        if command == "FETCH":
            return "OK", [(b"1 (RFC822 {n}", self.messages[args[0]]), b")"]
        if command == "STORE":
            self.deleted.add(args[0])
            return "OK", [b""]
        raise AssertionError(command)

    def expunge(self):
        for uid in self.deleted:
            self.messages.pop(uid, None)

    def logout(self):
        pass


@pytest.fixture
def mailbox(monkeypatch):
    box = FakeMailbox([sample("gmail_no_such_user"), sample("autoreply_rfc3834"),
                       (b"From: Ida <x@example.net>\r\nDelivered-To: unsubscribe@example.org\r\n"
                        b"Subject: unsubscribe forged.token.value\r\n\r\n")])
    monkeypatch.setattr(imaplib, "IMAP4_SSL", box)
    return box


def test_the_poller_acts_and_empties_the_mailbox(app, mailbox):
    app.config["BOUNCE_IMAP_URL"] = "imaps://bounces%40example.org:pw@imap.example.org/Bounces"
    with app.app_context():
        add_subscriber("eigil@gmail.example")
    assert imap.poll_once(app) == 3
    assert mailbox.messages == {} and mailbox.logins == [("bounces@example.org", "pw")]
    assert (mailbox.address, mailbox.folder) == (("imap.example.org", 993), "Bounces")
    with app.app_context():
        assert db.session.scalar(db.select(Subscriber.status).filter_by(email="eigil@gmail.example")) \
            == SubscriberStatus.BOUNCED


def test_with_the_database_down_the_messages_stay_in_the_mailbox(app, mailbox):
    down = create_app({"TESTING": True, "SECRET_KEYS": ["k"], "SECRET_KEY": "k",
                       "SQLALCHEMY_DATABASE_URI": f"postgresql+psycopg://postgres@127.0.0.1:{free_port()}/nothing",
                       "BOUNCE_IMAP_URL": "imaps://u:p@imap.example.org"})
    try:
        assert imap.poll_once(down) == 0
        assert len(mailbox.messages) == 3
    finally:
        with down.app_context():
            db.engine.dispose()


def test_recipients_come_from_the_delivery_headers():
    raw = b"To: Someone <news@example.org>\r\nX-Original-To: bounces+d1.x@example.org\r\n\r\nbody"
    assert imap.header_recipients(raw) == ["bounces+d1.x@example.org"]
    assert imap.header_recipients(b"To: a@example.org, b@example.org\r\n\r\n") == ["a@example.org", "b@example.org"]
