"""The digest end to end: a real Celery worker over Redis and PostgreSQL, mailing a real SMTP server (aiosmtpd)."""
from __future__ import annotations

import time
from collections import Counter
from datetime import timedelta

from sqlalchemy import func, select

from mailer.mailings.digests import create_due_digest
from mailer.extensions import db
from mailer.models import Mailing, MailingKind, MailingStatus, SubscriberStatus
from mailer.clock import utc_to_local
from mailer.models.types import utcnow
from mailer.mailings import states
from mailer.subscribers.lifecycle import find_subscriber
from tests.clock import NOW, WEEK
from tests.factories import create_event, create_subscriber
from tests.helpers import digest_rows, parse_mail, path_of
from tests.integration.worker_process import WorkerProcess
from tests.smtp_server import RecordingHandler, start_smtp_server


def wait_until_sent(app, digest_id: int, worker: WorkerProcess, timeout: float = 60, wake: bool = False) -> None:
    """Wait for the digest to finish; with `wake`, do the beat's part too (retries need waking)."""
    from mailer.tasks.sending import wake_sending_mailings

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with app.app_context():
            if states.status_of(digest_id) == MailingStatus.SENT:
                return
        if wake:
            wake_sending_mailings.delay()
        time.sleep(0.5)
    with app.app_context():
        rows = digest_rows(digest_id)
    raise AssertionError(f"digest {digest_id} not sent in time: {rows}\n{worker.log_path.read_text()[-4000:]}")


def send_digest(app, now, worker: WorkerProcess, **wait) -> int:
    """Make the period's digest with the fixed clock; the worker starts and sends it."""
    from mailer.tasks.sending import start_mailing

    with app.app_context():
        digest_id = create_due_digest(now)
    assert digest_id is not None
    start_mailing.delay(digest_id)
    wait_until_sent(app, digest_id, worker, **wait)
    return digest_id


def by_recipient(messages) -> dict[str, bytes]:
    got = Counter(recipient for _, recipients, _ in messages for recipient in recipients)
    assert set(got.values()) <= {1}, got  # nobody twice
    return {recipients[0]: data for _, recipients, data in messages}


def test_a_worker_sends_each_reader_their_digest_and_nothing_when_nothing_is_new(live_app, smtp_server, worker):
    with live_app.app_context():
        create_subscriber("mette@example.org", "events-copenhagen", name="Mette Ørsted", frequency="digest")
        create_subscriber("freja@example.org", "events-aarhus", frequency="both", language="en")
        create_subscriber("only-announcements@example.org", "events-copenhagen", frequency="announcements")
        create_event("Workshop: normer og privilegier", "events-copenhagen", created_at=NOW - 2 * WEEK, starts_at=NOW + 2 * WEEK,
                     hours=2, venue="Literaturhaus", city="København")
        create_event("Netværk i Aarhus", "events-aarhus", created_at=NOW - 2 * WEEK, starts_at=NOW + 3 * WEEK,
                     venue="VEGA", city="Aarhus", hours=2)

    first = send_digest(live_app, NOW - WEEK, worker)
    got = by_recipient(smtp_server.wait_for(lambda messages: len(messages) >= 2))
    assert sorted(got) == ["freja@example.org", "mette@example.org"]
    danish, english = parse_mail(got["mette@example.org"]), parse_mail(got["freja@example.org"])
    assert danish["Subject"] == "Kommende arrangementer: 1 nyt" and english["Subject"] == "Upcoming events: 1 new"
    danish_text = danish.get_body(("plain",)).get_content()
    assert "[Nyt] Workshop: normer og privilegier" in danish_text and "Aarhus" not in danish_text
    assert "https://calendar.google.com/calendar/render?" in danish_text and "https://outlook.live.com/" in danish_text
    assert "[New] Netværk i Aarhus" in english.get_body(("plain",)).get_content()

    second = send_digest(live_app, NOW, worker)  # no event has appeared since
    time.sleep(1)
    assert len(smtp_server.messages) == 2
    with live_app.app_context():
        assert digest_rows(first) == {"mette@example.org": "sent", "freja@example.org": "sent"}
        assert digest_rows(second) == {}
        create_event("Debat om magt i kulturlivet", "events-copenhagen", created_at=NOW + timedelta(days=2),
                     starts_at=NOW + 4 * WEEK, hours=2, venue="Literaturhaus", city="København")

    send_digest(live_app, NOW + WEEK, worker)
    (_, _, data), = smtp_server.wait_for(lambda messages: len(messages) >= 3)[2:]
    third = parse_mail(data)
    assert third["To"] == "mette@example.org" and third["Subject"] == "Kommende arrangementer: 1 nyt"
    text = third.get_body(("plain",)).get_content()
    assert "[Nyt] Debat om magt i kulturlivet" in text
    assert "Workshop: normer og privilegier" in text and "[Nyt] Workshop" not in text  # listed, not new

    one_click = third["List-Unsubscribe"].split("<", 1)[1].split(">", 1)[0]
    response = live_app.test_client(use_cookies=False).post(path_of(one_click), data={"List-Unsubscribe": "One-Click"})
    assert response.status_code == 200
    with live_app.app_context():
        assert find_subscriber("mette@example.org").status == SubscriberStatus.UNSUBSCRIBED


class DeferringHandler(RecordingHandler):
    """Answers 451 to every try for the chosen addresses."""

    def __init__(self, deferred: set[str]) -> None:
        super().__init__()
        self.deferred = deferred
        self.tries: Counter = Counter()

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        self.tries[address] += 1
        if address in self.deferred:
            return "451 4.3.0 try again later"
        envelope.rcpt_tos.append(address)
        return "250 OK"


def test_a_digest_that_never_arrived_leaves_its_events_new_for_the_next(live_app, service_env, tmp_path):
    handler, controller = start_smtp_server(DeferringHandler({"lost@example.org"}))
    worker = WorkerProcess({**service_env, "MAILER_SMTP_URL": f"smtp://127.0.0.1:{controller.port}"},
                           tmp_path / "worker.log")
    worker.start()
    try:
        with live_app.app_context():
            create_subscriber("lost@example.org", "events-copenhagen", frequency="digest")
            create_subscriber("got@example.org", "events-copenhagen", frequency="digest")
            create_event("Workshop i København", "events-copenhagen", created_at=NOW - 2 * WEEK, starts_at=NOW + 3 * WEEK,
                         hours=2, venue="Literaturhaus", city="København")
        first = send_digest(live_app, NOW - WEEK, worker, wake=True, timeout=90)
        assert handler.tries["lost@example.org"] == 5  # MAILER_SEND_RETRY_SECONDS=1, doubling, five tries
        handler.deferred.clear()  # the receiving server is well again
        second = send_digest(live_app, NOW, worker)
    finally:
        worker.stop()
        controller.stop()
    with live_app.app_context():
        assert digest_rows(first) == {"lost@example.org": "failed", "got@example.org": "sent"}
        assert digest_rows(second) == {"lost@example.org": "sent"}
    got = by_recipient(handler.messages)
    assert sorted(got) == ["got@example.org", "lost@example.org"]
    assert "[Nyt] Workshop i København" in parse_mail(got["lost@example.org"]).get_body(("plain",)).get_content()


def test_the_beat_makes_this_periods_digest_once_and_the_worker_sends_it(live_app, smtp_server, service_env, tmp_path):
    from mailer.tasks.digests import start_due_digest
    from mailer.tasks.sending import start_due_mailings

    now = utcnow()  # the beat runs on the real clock: today is the digest day, from midnight (a passed period is skipped)
    today = utc_to_local(now).strftime("%A").lower()
    worker = WorkerProcess({**service_env, "MAILER_DIGEST_WEEKDAY": today, "MAILER_DIGEST_HOUR": "0"},
                           tmp_path / "worker.log")
    worker.start()
    try:
        _beat_makes_one_digest(live_app, smtp_server, worker, now, start_due_digest, start_due_mailings)
    finally:
        worker.stop()


def _beat_makes_one_digest(live_app, smtp_server, worker, now, start_due_digest, start_due_mailings) -> None:
    with live_app.app_context():
        create_subscriber("mette@example.org", "events-copenhagen", frequency="digest")
        create_event("Workshop i København", "events-copenhagen", created_at=now - timedelta(days=1), starts_at=now + 2 * WEEK,
                     hours=2, venue="Literaturhaus", city="København")
    for _ in range(2):  # two beats, or one beat twice
        start_due_digest.delay()
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        with live_app.app_context():
            digest_id = db.session.scalar(select(Mailing.id).where(Mailing.kind == MailingKind.DIGEST))
        if digest_id:
            break
        time.sleep(0.3)
    assert digest_id, worker.log_path.read_text()[-4000:]
    start_due_mailings.delay()
    wait_until_sent(live_app, digest_id, worker)
    (_, recipients, data), = smtp_server.wait_for(lambda messages: len(messages) >= 1)
    assert recipients == ["mette@example.org"]
    assert "[Nyt] Workshop i København" in parse_mail(data).get_body(("plain",)).get_content()
    time.sleep(1)
    with live_app.app_context():
        assert db.session.scalar(select(func.count()).where(Mailing.kind == MailingKind.DIGEST)) == 1
