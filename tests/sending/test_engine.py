"""The sending engine on one process: audience, personalisation, marking, control and failures."""
from __future__ import annotations

import base64
from collections import Counter
from datetime import timedelta

import dkim
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from mailer import clock
from mailer.extensions import db
from mailer.models import (
    Mailing,
    MailingStatus,
    ConsentChannel,
    Delivery,
    Subscriber,
    SubscriberStatus,
)
from mailer.mailings import states
from mailer.sending.engine import SendingRun
from mailer.sending.run_setup import build_sender, engine_settings
from mailer.mail.dkim import DkimSigner
from mailer.mail.transports import (
    PermanentSendError, RelayUnavailableError, TransientSendError, UncertainDeliveryError,
)
from mailer.subscribers.consent import Origin
from mailer.subscribers.lifecycle import unsubscribe
from tests.factories import create_mailing, create_subscribers
from tests.helpers import parse_mail


def run_engine(mailing_id: int, transport=None, worker: str = "test-worker") -> int:
    sender = build_sender()
    if transport is not None:
        sender.transports = [transport]
    return SendingRun(mailing_id, worker, sender, engine_settings()).run()


def start_now(mailing_id: int) -> None:
    states.send_now(mailing_id)
    assert states.start(mailing_id)


def ledger_statuses(mailing_id: int) -> Counter:
    return Counter(db.session.scalars(db.select(Delivery.status).filter_by(mailing_id=mailing_id)))


def test_every_confirmed_subscriber_of_the_topics_gets_one_personal_mail(app, outbox):
    with app.app_context():
        create_subscribers(120, "newsletter", language="da")
        create_subscribers(5, "events-aarhus", prefix="aarhus")  # another topic: not in the audience
        create_subscribers(5, "newsletter", prefix="pending", status=SubscriberStatus.PENDING)
        mailing_id = create_mailing("newsletter")
        start_now(mailing_id)
        assert run_engine(mailing_id) == 120
        assert states.status_of(mailing_id) == MailingStatus.SENT
        assert ledger_statuses(mailing_id) == {"sent": 120}
    recipients = Counter(recipient for _, recipient, _ in outbox.sent)
    assert len(recipients) == 120 and set(recipients.values()) == {1}
    one_click_urls = set()
    for _, recipient, data in outbox.sent:
        mail = parse_mail(data)
        assert mail.get_content_type() == "multipart/alternative"
        assert mail["List-Id"] and mail["Message-ID"] and mail["Date"]
        assert mail["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
        https, mailto = [part.strip(" <>") for part in mail["List-Unsubscribe"].split(",")]
        assert https.startswith("https://news.example.org/one-click/") and mailto.startswith("mailto:")
        one_click_urls.add(https)
        text = mail.get_body(("plain",)).get_content()
        html = mail.get_body(("html",)).get_content()
        assert "https://news.example.org/unsubscribe/" in text and "https://news.example.org/unsubscribe/" in html
        assert "<strong>workshop</strong>" in html and "Kom til workshop om normer" in text and "**" not in text
        assert '<html lang="da">' in html
    assert len(one_click_urls) == 120  # every recipient has their own link


def test_the_one_click_link_in_a_sent_mail_unsubscribes_its_recipient(app, outbox):
    with app.app_context():
        create_subscribers(3)
        mailing_id = create_mailing("newsletter")
        start_now(mailing_id)
        run_engine(mailing_id)
    _, recipient, data = outbox.sent[0]
    url = parse_mail(data)["List-Unsubscribe"].split("<", 1)[1].split(">", 1)[0]
    response = app.test_client(use_cookies=False).post(url.split("news.example.org", 1)[1], data={"List-Unsubscribe": "One-Click"})
    assert response.status_code == 200
    with app.app_context():
        statuses = dict(db.session.execute(db.select(Subscriber.email, Subscriber.status)).all())
    assert statuses[recipient] == SubscriberStatus.UNSUBSCRIBED
    assert list(statuses.values()).count(SubscriberStatus.CONFIRMED) == 2


def test_with_dkim_each_message_is_signed_from_its_parts_and_verifies(app, outbox, monkeypatch):
    """The engine signs the built message from its parts (DkimSigner.sign_built), never falling back to its bytes."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    public = key.public_key().public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    record = b"v=DKIM1; k=rsa; p=" + base64.b64encode(public)
    signer = DkimSigner(domain="example.org", selector="engine", private_key_pem=key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
    from_bytes = []
    sign_bytes = signer.sign
    monkeypatch.setattr(signer, "sign", lambda message: from_bytes.append(message) or sign_bytes(message))
    app.config["DKIM_SIGNER"] = signer
    with app.app_context():
        create_subscribers(12, "newsletter", language="da")
        mailing_id = create_mailing("newsletter")
        start_now(mailing_id)
        assert run_engine(mailing_id) == 12
    assert len(outbox.sent) == 12 and from_bytes == []
    records = {b"engine._domainkey.example.org.": record}
    for _, _, data in outbox.sent:
        assert dkim.verify(data, dnsfunc=lambda name, timeout=5: records.get(name))


def test_language_filter_and_each_subscriber_in_their_own_language(app, outbox):
    with app.app_context():
        create_subscribers(3, language="da", prefix="da")
        create_subscribers(2, language="en", prefix="en")
        both = create_mailing("newsletter")
        english_only = create_mailing("newsletter", audience_language="en")
        for mailing_id in (both, english_only):
            start_now(mailing_id)
            run_engine(mailing_id)
    languages = Counter()
    for _, recipient, data in outbox.sent:
        html = parse_mail(data).get_body(("html",)).get_content()
        languages[(recipient[:2], 'lang="da"' in html)] += 1
    assert languages == {("da", True): 3, ("en", False): 4}


def test_a_subscriber_who_leaves_after_the_snapshot_is_skipped(app, outbox):
    with app.app_context():
        ids = create_subscribers(4)
        mailing_id = create_mailing("newsletter")
        start_now(mailing_id)
        unsubscribe(db.session.get(Subscriber, ids[0]), Origin(ConsentChannel.LINK))
        db.session.commit()
        run_engine(mailing_id)
        assert ledger_statuses(mailing_id) == {"sent": 3, "skipped": 1}
    assert "reader0@example.org" not in {r for _, r, _ in outbox.sent}


def test_starting_twice_and_running_twice_send_once(app, outbox):
    with app.app_context():
        create_subscribers(10)
        mailing_id = create_mailing("newsletter")
        states.send_now(mailing_id)
        assert states.start(mailing_id) is True
        assert states.start(mailing_id) is False
        run_engine(mailing_id)
        assert run_engine(mailing_id) == 0
        assert db.session.scalar(db.select(db.func.count()).select_from(Delivery)) == 10
    assert len(outbox.sent) == 10


class FlakyTransport:
    """Answers with a scripted error for chosen recipients, else records the message."""

    def __init__(self, errors: dict[str, Exception], after_each=None, reply: str = "250 ok") -> None:
        self.errors = errors
        self.reply = reply
        self.sent: list[str] = []
        self.tries: list[tuple[str, str]] = []  # (recipient, Message-ID) of every try
        self.after_each = after_each

    def send(self, sender: str, recipient: str, data: bytes, *, wire_ready: bool = False) -> str:
        self.tries.append((recipient, parse_mail(data)["Message-ID"]))
        if recipient in self.errors:
            raise self.errors.pop(recipient)
        self.sent.append(recipient)
        if self.after_each:
            self.after_each(len(self.sent))
        return self.reply

    def close(self) -> None:
        pass


def test_smtp_faults_become_retries_bounces_and_unknowns(app):
    app.config.update(SEND_RETRY_SECONDS=0, RESEND_UNKNOWN=False)  # the strict setting: never resend an unknown
    with app.app_context():
        create_subscribers(10)
        mailing_id = create_mailing("newsletter")
        start_now(mailing_id)
        transport = FlakyTransport({
            "reader1@example.org": TransientSendError("451 try later", code=451, reply="451 try later", stage="rcpt"),
            "reader2@example.org": PermanentSendError("550 no such user", code=550, reply="550 no such user", stage="rcpt"),
            "reader3@example.org": UncertainDeliveryError("connection lost after the dot", stage="reply"),
        })
        run_engine(mailing_id, transport)
        # The 451 comes back as soon as its retry is due (immediately here); the rest are final.
        assert ledger_statuses(mailing_id) == {"sent": 8, "bounced": 1, "unknown": 1}
        assert transport.sent.count("reader1@example.org") == 1
        # What staff see in the ledger: the server's words, the Message-ID and when it went.
        rows = {email: row for email, row in db.session.execute(
            db.select(Subscriber.email, Delivery).join(Delivery, Delivery.subscriber_id == Subscriber.id)
            .where(Delivery.mailing_id == mailing_id)).all()}
        assert rows["reader2@example.org"].smtp_reply == "550 no such user"
        assert rows["reader2@example.org"].sent_at is None and rows["reader2@example.org"].message_id is None
        assert "after the dot" in rows["reader3@example.org"].last_error
        sent = rows["reader4@example.org"]
        assert sent.sent_at is not None and sent.message_id.startswith("<") and sent.lease_expires_at is None
        assert rows["reader1@example.org"].attempts == 2 and rows["reader1@example.org"].status == "sent"
        assert rows["reader3@example.org"].attempts == 1 and rows["reader3@example.org"].uncertain == 1
        bounced = db.session.scalar(db.select(Subscriber).filter_by(email="reader2@example.org"))
        assert bounced.status == SubscriberStatus.BOUNCED
        assert states.status_of(mailing_id) == MailingStatus.SENT


def test_a_relay_that_answers_with_nul_bytes_cannot_stop_the_ledger(app):
    """PostgreSQL text cannot hold NUL: a server's reply or error with one is stored without it."""
    with app.app_context():
        create_subscribers(3)
        mailing_id = create_mailing("newsletter")
        start_now(mailing_id)
        transport = FlakyTransport({"reader0@example.org": PermanentSendError(
            "550 no\x00 such user", code=550, reply="550 no\x00 such user", stage="rcpt")},
            reply="250 2.0.0 queued as \x00ABC")
        run_engine(mailing_id, transport)
        assert ledger_statuses(mailing_id) == {"sent": 2, "bounced": 1}
        rows = db.session.execute(db.select(Delivery.status, Delivery.smtp_reply, Delivery.last_error)
                                  .filter_by(mailing_id=mailing_id)).all()
        assert {(r.status, r.smtp_reply) for r in rows} == {
            ("sent", "250 2.0.0 queued as ABC"), ("bounced", "550 no such user")}
        assert states.status_of(mailing_id) == MailingStatus.SENT


def test_pause_takes_effect_between_groups_and_resume_sends_the_rest_once(app):
    app.config["SEND_GROUP_SIZE"] = 10
    with app.app_context():
        create_subscribers(60)
        mailing_id = create_mailing("newsletter")
        start_now(mailing_id)

        def pause_after_15(count):
            if count == 15:
                with app.app_context():  # as staff would, from another process
                    states.pause(mailing_id)

        first = FlakyTransport({}, after_each=pause_after_15)
        run_engine(mailing_id, first)
        assert len(first.sent) == 20  # the group in flight finishes, the next one does not start
        assert states.status_of(mailing_id) == MailingStatus.PAUSED
        assert ledger_statuses(mailing_id) == {"sent": 20, "pending": 40}

        states.resume(mailing_id)
        second = FlakyTransport({})
        run_engine(mailing_id, second)
        assert sorted(first.sent + second.sent) == sorted(f"reader{i}@example.org" for i in range(60))
        assert states.status_of(mailing_id) == MailingStatus.SENT


def test_cancel_stops_sending_within_one_group(app):
    app.config["SEND_GROUP_SIZE"] = 10
    with app.app_context():
        create_subscribers(50)
        mailing_id = create_mailing("newsletter")
        start_now(mailing_id)
        def cancel_after_5(count):
            if count == 5:
                with app.app_context():
                    states.cancel(mailing_id)

        transport = FlakyTransport({}, after_each=cancel_after_5)
        run_engine(mailing_id, transport)
        assert len(transport.sent) == 10
        assert states.status_of(mailing_id) == MailingStatus.CANCELLED


def test_many_failures_pause_the_mailing_with_a_reason_that_outlives_the_resume(app, client, admin):
    app.config.update(SEND_FAILURE_MINIMUM=20, SEND_GROUP_SIZE=10)
    with app.app_context():
        create_subscribers(100)
        mailing_id = create_mailing("newsletter")
        start_now(mailing_id)
        errors = {f"reader{i}@example.org": PermanentSendError("554 relay denied", code=554, reply="554", stage="data")
                  for i in range(100)}
        run_engine(mailing_id, FlakyTransport(errors))
        mailing = db.session.get(Mailing, mailing_id)
        assert mailing.status == MailingStatus.PAUSED
        assert "failed" in mailing.status_reason
        assert ledger_statuses(mailing_id)["pending"] >= 70
        failed = ledger_statuses(mailing_id)["bounced"]
        states.resume(mailing_id)
        run_engine(mailing_id, FlakyTransport({}))
        mailing = db.session.get(Mailing, mailing_id)
        db.session.refresh(mailing)
        assert mailing.status == MailingStatus.SENT and "failed" in mailing.auto_pause_reason
    page = client.get(f"/staff/mailings/{mailing_id}").get_data(as_text=True)
    assert f"Sent with 0 failed, 0 unknown, {failed} bounced" in page  # never plainly "sent"
    assert "Paused automatically on the way: " in page and "paused automatically" in page


@pytest.mark.parametrize("state", [MailingStatus.SENDING, MailingStatus.SENT, MailingStatus.CANCELLED])
def test_only_drafts_and_scheduled_mailings_can_be_scheduled(app, state):
    with app.app_context():
        mailing_id = create_mailing("newsletter", status=state)
        with pytest.raises(states.InvalidTransition):
            states.send_now(mailing_id)


def test_a_slow_batch_keeps_its_lease_so_no_other_worker_takes_it(app):
    from mailer.sending import deliveries

    with app.app_context():
        create_subscribers(6)
        mailing_id = create_mailing("newsletter")
        start_now(mailing_id)
        mine = deliveries.claim_batch(mailing_id, "slow-worker", 6, lease_seconds=0.01)
        import time

        time.sleep(0.05)  # the lease has run out: another worker could take these rows now...
        deliveries.renew_lease([r.delivery_id for r in mine], "slow-worker", lease_seconds=60)
        # ...but the renewal keeps them with the worker still sending them.
        assert deliveries.claim_batch(mailing_id, "other-worker", 6, lease_seconds=60) == []
        deliveries.renew_lease([r.delivery_id for r in mine], "other-worker", lease_seconds=0)
        assert deliveries.claim_batch(mailing_id, "other-worker", 6, lease_seconds=60) == []


def test_a_large_audience_enters_the_ledger_in_chunks_and_finishes_only_when_all_are_in(app, outbox, monkeypatch):
    monkeypatch.setattr(states, "AUDIENCE_CHUNK", 7)
    with app.app_context():
        create_subscribers(30, "newsletter", language="da")
        create_subscribers(4, "newsletter", prefix="leaver", language="da")
        mailing_id = create_mailing("newsletter")
        start_now(mailing_id)
        # Only the first chunk is in the ledger after the start, so the first mail can leave at once.
        assert sum(ledger_statuses(mailing_id).values()) == 7
        assert not states.finish_if_done(mailing_id)  # nothing open, but the audience is not all in
        # Someone who leaves before their chunk is snapshotted never gets a row.
        leaver = db.session.scalar(db.select(Subscriber).where(Subscriber.email.like("leaver0%")))
        unsubscribe(leaver, Origin(ConsentChannel.LINK))
        db.session.commit()
        assert run_engine(mailing_id) == 33
        assert states.status_of(mailing_id) == MailingStatus.SENT
        assert ledger_statuses(mailing_id) == {"sent": 33}
    recipients = Counter(recipient for _, recipient, _ in outbox.sent)
    assert len(recipients) == 33 and set(recipients.values()) == {1}
    assert not any(r.startswith("leaver0") for r in recipients)


def _reminder_of(parent_id: int) -> int:
    from mailer.models import MailingKind

    reminder_id = create_mailing("newsletter", subject="Påmindelse")
    reminder = db.session.get(Mailing, reminder_id)
    reminder.kind, reminder.parent_id = MailingKind.REMINDER, parent_id
    db.session.commit()
    return reminder_id


def test_a_reminder_due_while_its_mailing_is_still_going_out_waits_for_it(app, outbox):
    with app.app_context():
        create_subscribers(8, "newsletter")
        parent_id = create_mailing("newsletter")
        start_now(parent_id)
        reminder_id = _reminder_of(parent_id)
        states.send_now(reminder_id)
        # Started now, it would reach only those the mailing had reached so far (nobody).
        assert reminder_id not in states.due_mailing_ids()
        assert not states.start(reminder_id)
        run_engine(parent_id)
        assert states.status_of(parent_id) == MailingStatus.SENT
        assert reminder_id in states.due_mailing_ids()
        assert states.start(reminder_id)
        assert run_engine(reminder_id) == 8
    subjects = Counter(parse_mail(data)["Subject"] for _, _, data in outbox.sent)
    assert subjects == {"Ny workshop i Aarhus": 8, "Påmindelse": 8}


def test_cancelling_an_mailing_cancels_its_waiting_reminders(app):
    with app.app_context():
        create_subscribers(3, "newsletter")
        parent_id = create_mailing("newsletter")
        start_now(parent_id)
        reminder_id = _reminder_of(parent_id)
        states.schedule(reminder_id, clock.utcnow())
        unrelated_id = create_mailing("newsletter")
        states.schedule(unrelated_id, clock.utcnow())
        states.cancel(parent_id)
        assert states.status_of(reminder_id) == MailingStatus.CANCELLED
        assert states.status_of(unrelated_id) == MailingStatus.SCHEDULED


def _rows(mailing_id: int) -> dict[str, Delivery]:
    return {email: row for email, row in db.session.execute(
        db.select(Subscriber.email, Delivery).join(Delivery, Delivery.subscriber_id == Subscriber.id)
        .where(Delivery.mailing_id == mailing_id).execution_options(populate_existing=True)).all()}


def test_an_uncertain_hand_off_is_resent_once_with_the_same_message_id(app):
    app.config["SEND_RETRY_SECONDS"] = 0
    with app.app_context():
        create_subscribers(6)
        mailing_id = create_mailing("newsletter")
        start_now(mailing_id)
        lost = UncertainDeliveryError("connection lost after the dot", stage="reply")
        transport = FlakyTransport({"reader1@example.org": lost})
        run_engine(mailing_id, transport)
        assert ledger_statuses(mailing_id) == {"sent": 6}
        ids = {message_id for recipient, message_id in transport.tries if recipient == "reader1@example.org"}
        assert len(ids) == 1 and len(transport.tries) == 7  # two tries, one Message-ID
        row = _rows(mailing_id)["reader1@example.org"]
        assert row.message_id == ids.pop() and row.attempts == 2 and row.uncertain == 1

        # Only once: a second uncertain hand-off of the same row stays unknown, for staff to judge.
        second = create_mailing("newsletter")
        start_now(second)

        class LostTwice(FlakyTransport):
            def send(self, sender, recipient, data, *, wire_ready=False):
                if recipient == "reader2@example.org" and len([r for r, _ in self.tries if r == recipient]) < 2:
                    self.errors[recipient] = lost
                return super().send(sender, recipient, data, wire_ready=wire_ready)

        again = LostTwice({})
        run_engine(second, again)
        assert ledger_statuses(second) == {"sent": 5, "unknown": 1}
        # Staff resend it by hand: the mailing goes back to sending and finishes.
        assert states.status_of(second) == MailingStatus.SENT
        assert states.resend_unknown(second) == 1
        assert states.status_of(second) == MailingStatus.SENDING
        run_engine(second, again)
        assert ledger_statuses(second) == {"sent": 6} and states.status_of(second) == MailingStatus.SENT
        assert len({m for r, m in again.tries if r == "reader2@example.org"}) == 1


def test_attempts_count_tries_on_the_wire_and_never_pass_the_maximum(app):
    app.config.update(SEND_RETRY_SECONDS=0, SEND_MAX_ATTEMPTS=3)
    with app.app_context():
        create_subscribers(4)
        mailing_id = create_mailing("newsletter")
        start_now(mailing_id)

        class AlwaysDeferred(FlakyTransport):
            def send(self, sender, recipient, data, *, wire_ready=False):
                if recipient == "reader0@example.org":
                    self.errors[recipient] = TransientSendError("451 later", code=451, stage="rcpt")
                return super().send(sender, recipient, data, wire_ready=wire_ready)

        transport = AlwaysDeferred({})
        run_engine(mailing_id, transport)
        rows = _rows(mailing_id)
        assert rows["reader0@example.org"].status == "failed" and rows["reader0@example.org"].attempts == 3
        assert [r for r, _ in transport.tries].count("reader0@example.org") == 3
        assert rows["reader1@example.org"].attempts == 1 and rows["reader1@example.org"].claims == 1
        # A row released untried (pause, relay outage) is not charged an attempt; claims count apart.
        assert max(row.attempts for row in rows.values()) <= 3


class RelayDown:
    """A relay that cannot be reached: every connection fails, until `up` is set."""

    def __init__(self) -> None:
        self.up = False
        self.calls = 0
        self.sent: list[str] = []

    def _check(self) -> None:
        self.calls += 1
        if not self.up:
            raise RelayUnavailableError("SMTP connect failed on relay:25: [Errno 111] Connection refused", stage="connect")

    def probe(self) -> None:
        self._check()

    def send(self, sender: str, recipient: str, data: bytes, *, wire_ready: bool = False) -> str:
        self._check()
        self.sent.append(recipient)
        return "250 ok"

    def close(self) -> None:
        pass


def test_a_relay_outage_backs_the_mailing_off_without_charging_attempts(app, client, admin):
    app.config.update(SEND_RETRY_SECONDS=60, RELAY_RETRY_MAX_SECONDS=600)
    with app.app_context():
        create_subscribers(30)
        mailing_id = create_mailing("newsletter")
        start_now(mailing_id)
        relay = RelayDown()
        run_engine(mailing_id, relay)
        assert relay.calls <= 2  # one try per connection, not one per row
        assert ledger_statuses(mailing_id) == {"pending": 30}
        assert {row.attempts for row in _rows(mailing_id).values()} == {0}
        mailing = db.session.get(Mailing, mailing_id)
        db.session.refresh(mailing)
        since, first_retry = mailing.relay_down_since, mailing.relay_retry_at
        assert since and 59 <= (first_retry - since).total_seconds() <= 61 and "refused" in mailing.relay_error
        assert mailing.status == MailingStatus.SENDING

    # Staff see that the mailing waits for the mail server, not "failed 0".
    page = client.get(f"/staff/mailings/{mailing_id}/progress").get_data(as_text=True)
    assert "Waiting for the mail server since" in page and "Connection refused" in page

    with app.app_context():
        # Before the retry time nobody tries; after it, one probe, and the wait doubles.
        run_engine(mailing_id, relay)
        assert relay.calls <= 2
        calls = relay.calls
        clock_now = clock.utcnow()
        db.session.execute(db.update(Mailing).where(Mailing.id == mailing_id)
                           .values(relay_retry_at=clock_now, relay_down_since=clock_now - timedelta(seconds=200)))
        db.session.commit()
        run_engine(mailing_id, relay)
        assert relay.calls == calls + 1
        mailing = db.session.get(Mailing, mailing_id)
        db.session.refresh(mailing)
        assert 199 <= (mailing.relay_retry_at - clock.utcnow()).total_seconds() <= 201
        assert ledger_statuses(mailing_id) == {"pending": 30}  # however long it lasts, no row fails of it

        relay.up = True
        db.session.execute(db.update(Mailing).where(Mailing.id == mailing_id).values(relay_retry_at=clock.utcnow()))
        db.session.commit()
        run_engine(mailing_id, relay)
        assert sorted(relay.sent) == sorted(f"reader{i}@example.org" for i in range(30))
        assert ledger_statuses(mailing_id) == {"sent": 30}
        assert {row.attempts for row in _rows(mailing_id).values()} == {1}
        mailing = db.session.get(Mailing, mailing_id)
        db.session.refresh(mailing)
        assert mailing.status == MailingStatus.SENT and mailing.relay_down_since is None


def _cut_database_connections(url) -> None:
    """Terminate every other connection to the test database, as a PostgreSQL restart would."""
    from sqlalchemy import create_engine

    engine = create_engine(url)
    with engine.connect() as connection:
        connection.execute(db.text(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid()"))
        connection.commit()
    engine.dispose()


def test_a_lost_database_connection_is_reconnected_and_the_outcomes_written_again(app, monkeypatch, caplog):
    if not app.config["SQLALCHEMY_DATABASE_URI"].startswith("postgresql"):
        pytest.skip("needs PostgreSQL to cut connections")
    from mailer.sending import deliveries
    from mailer.sending.run_setup import one_database_connection
    from sqlalchemy.exc import OperationalError

    app.config["SEND_GROUP_SIZE"] = 10
    with app.app_context():
        create_subscribers(60)
        mailing_id = create_mailing("newsletter")
        start_now(mailing_id)

        url = db.engine.url

        def cut(count):
            if count in (15, 42):  # mid-group: the group's outcomes meet a dead connection
                _cut_database_connections(url)

        # A claim that committed and then lost its connection: its rows are handed back at once.
        real_claim, lost = deliveries.claim_batch, []

        def claim_then_lose(*args):
            batch = real_claim(*args)
            if batch and not lost:
                lost.append(len(batch))
                raise OperationalError("COMMIT", {}, Exception("server closed the connection unexpectedly"))
            return batch

        monkeypatch.setattr(deliveries, "claim_batch", claim_then_lose)
        transport = FlakyTransport({}, after_each=cut)
        with one_database_connection():
            run_engine(mailing_id, transport)
        assert lost and sorted(transport.sent) == sorted(f"reader{i}@example.org" for i in range(60))
        assert caplog.text.count("database connection lost") >= 3  # the claim and both cuts
        db.session.remove()
        assert ledger_statuses(mailing_id) == {"sent": 60}
        assert states.status_of(mailing_id) == MailingStatus.SENT
