"""Crash safety of the sending engine: real workers over Redis, PostgreSQL and a real SMTP server."""
from __future__ import annotations

import random
import time
from collections import Counter

import redis

from mailer.extensions import db
from mailer.models import Subscriber, SubscriberStatus
from mailer.mailings import states
from tests.services import REDIS_URL
from tests.factories import create_mailing, create_subscribers
from tests.integration.sending_helpers import GROUP_SIZE, ledger, received, send_now, wait_until_sent
from tests.integration.worker_process import WorkerProcess
from tests.smtp_server import RecordingHandler, start_smtp_server


def test_sigkilled_workers_lose_no_recipient_and_duplicate_within_the_bound(live_app, service_env, smtp_server, beat, tmp_path):
    worker = WorkerProcess(service_env, tmp_path / "worker.log")
    worker.start()
    count, kills = 3000, 3
    mailing_id = send_now(live_app, count)
    rng = random.Random(8058)
    try:
        for kill in range(kills):
            target = rng.randint(200, 800) * (kill + 1)
            smtp_server.wait_for(lambda messages: len(messages) >= target, timeout=60)
            worker.kill()
            worker.start()
        wait_until_sent(live_app, mailing_id)
    finally:
        worker.stop()
    got = received(smtp_server)
    assert set(got) == {f"reader{i}@example.org" for i in range(count)}  # nobody lost
    duplicates = sum(got.values()) - count
    assert duplicates <= kills * GROUP_SIZE
    assert ledger(live_app, mailing_id) == {"sent": count}  # an expired lease is not "unknown"
    # Every copy of a resent delivery carries the same Message-ID, so receivers can drop the extra one.
    from tests.integration.test_outages import MAX_ATTEMPTS, max_attempts, message_ids

    assert all(len(ids) == 1 for ids in message_ids(smtp_server).values())
    assert max_attempts(live_app, mailing_id) <= MAX_ATTEMPTS


def test_flushing_redis_mid_campaign_loses_no_recipient(live_app, smtp_server, worker, beat):
    count = 1500
    mailing_id = send_now(live_app, count)
    smtp_server.wait_for(lambda messages: len(messages) >= 300)
    redis.Redis.from_url(REDIS_URL).flushdb()  # every queued task is gone; the ledger is not
    wait_until_sent(live_app, mailing_id)
    got = received(smtp_server)
    assert set(got) == {f"reader{i}@example.org" for i in range(count)}
    assert max(got.values()) == 1


def test_redelivered_send_tasks_send_nothing_extra(live_app, smtp_server, worker):
    from mailer.tasks.sending import send_mailing, start_mailing

    mailing_id = send_now(live_app, 200)
    for _ in range(3):
        send_mailing.delay(mailing_id)  # as if the broker redelivered the wake-up
    wait_until_sent(live_app, mailing_id, worker=worker)
    for _ in range(3):
        send_mailing.delay(mailing_id)
        start_mailing.delay(mailing_id)
    time.sleep(3)
    got = received(smtp_server)
    assert len(got) == 200 and max(got.values()) == 1


def test_two_beats_and_send_now_together_start_the_campaign_once(live_app, service_env, smtp_server, tmp_path):
    from mailer.tasks.sending import start_mailing, start_due_mailings

    worker = WorkerProcess(service_env, tmp_path / "worker.log", concurrency=2)
    worker.start()
    try:
        with live_app.app_context():
            create_subscribers(300)
            mailing_id = create_mailing("newsletter")
            states.send_now(mailing_id)
        for _ in range(2):
            start_due_mailings.delay()
            start_mailing.delay(mailing_id)
        wait_until_sent(live_app, mailing_id)
        time.sleep(2)
    finally:
        worker.stop()
    got = received(smtp_server)
    assert len(got) == 300 and max(got.values()) == 1
    assert sum(ledger(live_app, mailing_id).values()) == 300


def test_pause_and_resume_never_resend_and_cancel_stops_within_a_group(live_app, smtp_server, worker, beat):
    count = 1200
    mailing_id = send_now(live_app, count)
    smtp_server.wait_for(lambda messages: len(messages) >= 200)
    with live_app.app_context():
        states.pause(mailing_id)
    time.sleep(1.5)
    at_pause = len(smtp_server.messages)
    time.sleep(2)
    assert len(smtp_server.messages) == at_pause  # nothing more leaves while paused
    assert ledger(live_app, mailing_id)["claimed"] == 0  # unsent claims were handed back
    with live_app.app_context():
        states.resume(mailing_id)
    wait_until_sent(live_app, mailing_id)
    got = received(smtp_server)
    assert len(got) == count and max(got.values()) == 1

    with live_app.app_context():
        create_subscribers(1200, prefix="second")
        cancel_id = create_mailing("newsletter")
        states.send_now(cancel_id)
    from mailer.tasks.sending import start_mailing

    before = len(smtp_server.messages)
    start_mailing.delay(cancel_id)
    smtp_server.wait_for(lambda messages: len(messages) >= before + 100)
    with live_app.app_context():
        states.cancel(cancel_id)
    at_cancel = len(smtp_server.messages)
    time.sleep(2)
    assert len(smtp_server.messages) - at_cancel <= GROUP_SIZE


class FaultySMTPHandler(RecordingHandler):
    """451 on the first try for some, 550 for chosen addresses, dropped connections for others."""

    def __init__(self, refused: set[str], deferred: set[str], dropped: set[str]) -> None:
        super().__init__()
        self.refused, self.deferred, self.dropped = refused, deferred, set(dropped)
        self.attempts: Counter = Counter()

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        self.attempts[address] += 1
        if address in self.refused:
            return "550 5.1.1 no such user"
        if address in self.dropped:
            self.dropped.discard(address)  # drop once, before the message is sent
            server.transport.close()
            return "421 closing"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        (address,) = envelope.rcpt_tos
        if address in self.deferred and self.attempts[address] == 1:
            return "451 4.3.0 try again later"
        return await super().handle_DATA(server, session, envelope)


def test_a_faulty_smtp_server_gives_retries_bounces_and_no_loss(live_app, service_env, tmp_path, beat):
    count = 120
    addresses = [f"reader{i}@example.org" for i in range(count)]
    refused, deferred, dropped = set(addresses[0:3]), set(addresses[10:30]), set(addresses[40:45])
    handler, controller = start_smtp_server(FaultySMTPHandler(refused, deferred, dropped))
    env = {**service_env, "MAILER_SMTP_URL": f"smtp://127.0.0.1:{controller.port}"}
    worker = WorkerProcess(env, tmp_path / "worker.log")
    worker.start()
    try:
        mailing_id = send_now(live_app, count)
        wait_until_sent(live_app, mailing_id, timeout=90)
    finally:
        worker.stop()
        controller.stop()
    got = received(handler)
    assert set(got) == set(addresses) - refused and max(got.values()) == 1
    assert all(handler.attempts[address] >= 2 for address in deferred | dropped)  # retried
    assert ledger(live_app, mailing_id) == {"sent": count - 3, "bounced": 3}
    with live_app.app_context():
        statuses = dict(db.session.execute(db.select(Subscriber.email, Subscriber.status)).all())
    assert {a for a, s in statuses.items() if s == SubscriberStatus.BOUNCED} == refused
