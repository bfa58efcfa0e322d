"""Pause for a month and choose how often, on the manage page; real sends through a Celery worker.

The worker runs over Redis and PostgreSQL and sends to a real SMTP server. Its clock is the
real one, so the pause is taken now; "a month later" is a fixed clock in this process, where
the beat task that clears ended pauses runs.
"""
from __future__ import annotations

import re
import time
from datetime import timedelta

import pytest

from mailer.extensions import db
from mailer.models import MailingStatus, ConsentEvent, Subscriber
from mailer.mailings import states
from mailer.subscribers.lifecycle import find_subscriber
from mailer.tokens import TokenPurpose
from tests.helpers import form_fields, parse_mail, topic_ids
from tests.clock import Clock
from tests.factories import create_mailing, create_subscriber_tokens


def _send(app, subject: str) -> int:
    """Send a newsletter mailing now, through the worker; wait until it is sent."""
    from mailer.tasks.sending import start_mailing

    with app.app_context():
        mailing_id = create_mailing("newsletter", subject=subject)
        states.send_now(mailing_id)
    start_mailing.delay(mailing_id)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        with app.app_context():
            if states.status_of(mailing_id) == MailingStatus.SENT:
                return mailing_id
        time.sleep(0.2)
    raise AssertionError(f"mailing {mailing_id} was not sent in time")


def _received(smtp_server, subject: str) -> set[str]:
    return {recipients[0] for _, recipients, data in smtp_server.messages if parse_mail(data)["Subject"] == subject}


def _manage(client, path: str, app, **changes):
    page = client.get(path).get_data(as_text=True)
    (newsletter,) = topic_ids(app, "newsletter")
    data = {**form_fields(page), "language": "da", "topics": [str(newsletter)], "frequency": "announcements",
            "pause": "none", **changes}
    return client.post(path, data=data, headers={"User-Agent": "Firefox/140"}, environ_base={"REMOTE_ADDR": "198.51.100.9"})


def test_paused_for_a_month_gets_nothing_then_mail_again_and_the_ledger_shows_both(live_app, worker, smtp_server):
    from mailer.tasks.subscriber_mail import resume_ended_pauses

    client = live_app.test_client()
    paths = {}
    with live_app.app_context():
        for name in ("paula", "anna", "bo", "dina"):
            tokens = create_subscriber_tokens(f"{name}@example.org", confirmed=True, language="da")
            paths[name] = "/manage/" + tokens[TokenPurpose.MANAGE]
    # Each chooses on the manage page: Paula pauses for a month, Bo wants both, Dina only the digest.
    response = _manage(client, paths["paula"], live_app, pause="1")
    assert response.status_code == 200
    assert re.search(r"Sat på pause til \d+\. \w+ \d{4}\.", response.get_data(as_text=True))
    assert _manage(client, paths["bo"], live_app, frequency="both").status_code == 200
    assert _manage(client, paths["dina"], live_app, frequency="digest").status_code == 200

    _send(live_app, "Ny workshop i Aarhus")
    assert _received(smtp_server, "Ny workshop i Aarhus") == {"anna@example.org", "bo@example.org"}

    # The beat sweep, run by the worker during the pause, leaves it alone.
    resume_ended_pauses.delay()
    deadline = time.monotonic() + 30
    while not re.search(rb"resume_ended_pauses\[[\w-]+\] succeeded", worker.log_path.read_bytes()):
        assert time.monotonic() < deadline, worker.log_path.read_text()[-3000:]
        time.sleep(0.2)
    with live_app.app_context():
        paused_until = find_subscriber("paula@example.org").paused_until
        assert paused_until is not None
        assert timedelta(days=27) < paused_until - db.session.scalar(db.select(db.func.now())) < timedelta(days=32)

    # A month later the sweep clears the pause and records it. Only this process's clock moves, and only for the
    # sweep: the worker keeps the real one, and a mailing scheduled "now" a month ahead would not be due for it.
    with pytest.MonkeyPatch.context() as later:
        later.setattr("mailer.clock.utcnow", Clock(paused_until + timedelta(minutes=10)))
        with live_app.app_context():
            assert resume_ended_pauses() == 1
            assert find_subscriber("paula@example.org").paused_until is None

    _send(live_app, "Ny debat i København")
    assert _received(smtp_server, "Ny debat i København") == {"paula@example.org", "anna@example.org", "bo@example.org"}
    assert "dina@example.org" not in {r[0] for _, r, _ in smtp_server.messages}

    with live_app.app_context():
        subscriber = find_subscriber("paula@example.org")
        ledger = db.session.scalars(db.select(ConsentEvent).filter_by(subscriber_id=subscriber.id).order_by(ConsentEvent.id))
        assert [(e.action, e.channel, e.ip, e.user_agent, e.detail) for e in ledger] == [
            ("pause", "link", "198.51.100.9", "Firefox/140", paused_until.isoformat()),
            ("resume", "automatic", None, None, paused_until.isoformat()),
        ]
        assert db.session.get(Subscriber, subscriber.id).frequency == "announcements"
