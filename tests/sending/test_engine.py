"""The sending engine on one process: audience, personalisation, marking, control and failures."""
from __future__ import annotations

from collections import Counter

import pytest

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
from mailer.mail.transports import PermanentSendError, TransientSendError, UncertainDeliveryError
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
        assert "<strong>workshop</strong>" in html and "**workshop**" in text
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


def test_language_filter_and_each_subscriber_in_their_own_language(app, outbox):
    with app.app_context():
        create_subscribers(3, language="da", prefix="da")
        create_subscribers(2, language="en", prefix="en")
        both = create_mailing("newsletter")
        english_only = create_mailing("newsletter", language="en")
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

    def __init__(self, errors: dict[str, Exception], after_each=None) -> None:
        self.errors = errors
        self.sent: list[str] = []
        self.after_each = after_each

    def send(self, sender: str, recipient: str, data: bytes, *, wire_ready: bool = False) -> str:
        parse_mail(data)
        if recipient in self.errors:
            raise self.errors.pop(recipient)
        self.sent.append(recipient)
        if self.after_each:
            self.after_each(len(self.sent))
        return "250 ok"

    def close(self) -> None:
        pass


def test_smtp_faults_become_retries_bounces_and_unknowns(app):
    app.config["SEND_RETRY_SECONDS"] = 0
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
        bounced = db.session.scalar(db.select(Subscriber).filter_by(email="reader2@example.org"))
        assert bounced.status == SubscriberStatus.BOUNCED
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


def test_many_failures_pause_the_mailing_with_a_reason(app):
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
