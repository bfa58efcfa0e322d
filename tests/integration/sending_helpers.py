"""Helpers of the sending integration tests: a stand-in for celery beat, starting a mailing, reading the results."""
from __future__ import annotations

import threading
import time
from collections import Counter

from mailer.extensions import db
from mailer.mailings import states
from mailer.models import Delivery, MailingStatus
from tests.factories import create_mailing, create_subscribers
from tests.integration.worker_process import WorkerProcess
from tests.smtp_server import RecordingHandler

GROUP_SIZE = 50  # mailer.config SEND_GROUP_SIZE: the documented bound of sent-but-unmarked messages per worker


class Beat(threading.Thread):
    """Do what celery beat does, every second: start due mailings and wake sending ones."""

    def __init__(self, app) -> None:
        super().__init__(daemon=True)
        self.app = app
        self.stopped = threading.Event()

    def run(self) -> None:
        from mailer.tasks.sending import start_due_mailings, wake_sending_mailings

        while not self.stopped.wait(1.0):
            try:
                start_due_mailings.delay()
                wake_sending_mailings.delay()
            except Exception:  # noqa: BLE001 - Redis may be mid-flush; beat just tries again
                pass

    def stop(self) -> None:
        self.stopped.set()
        self.join()


def send_now(app, count: int) -> int:
    from mailer.tasks.sending import start_mailing

    with app.app_context():
        create_subscribers(count)
        mailing_id = create_mailing("newsletter")
        states.send_now(mailing_id)
    start_mailing.delay(mailing_id)
    return mailing_id


def wait_until_sent(app, mailing_id: int, timeout: float = 120, worker: WorkerProcess | None = None) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with app.app_context():
            if states.status_of(mailing_id) == MailingStatus.SENT:
                return
        time.sleep(0.3)
    with app.app_context():
        counts = Counter(db.session.scalars(db.select(Delivery.status).filter_by(mailing_id=mailing_id)))
    log = worker.log_path.read_text()[-4000:] if worker else ""
    raise AssertionError(f"mailing {mailing_id} not sent in time: {dict(counts)}\n{log}")


def received(handler: RecordingHandler) -> Counter:
    return Counter(recipient for _, recipients, _ in handler.messages for recipient in recipients)


def ledger(app, mailing_id: int) -> Counter:
    with app.app_context():
        return Counter(db.session.scalars(db.select(Delivery.status).filter_by(mailing_id=mailing_id)))
