"""/subscribe and /new-link do the same work whatever the address (issue 10, item 11).

The answer used to take 26 ms for a new address, 23 ms for a pending one and 15 ms for a confirmed
one; /new-link 16 ms for an unknown address and 30 ms for a known one. Now the request validates the
form and queues one task, and the task looks the address up after the answer is sent.

Two checks: the request runs the same SQL statements and queues the same task for every kind of
address (exact, so it holds on any machine), and the medians of 50 interleaved requests of each kind
are within 2 ms.
"""
from __future__ import annotations

import statistics
import time

import pytest
from sqlalchemy import event

from mailer.extensions import db
from tests.helpers import form_fields
from tests.factories import create_subscriber_tokens
from tests.helpers import topic_ids

ROUNDS = 50


@pytest.fixture
def known(app):
    app.config["SIGNUP_LIMIT_PER_IP"] = "100000 per minute"
    app.config["SIGNUP_LIMIT_PER_ADDRESS"] = "100000 per hour"
    with app.app_context():
        create_subscriber_tokens("pending@example.org", confirmed=False, language="da")
        create_subscriber_tokens("confirmed@example.org", confirmed=True, language="da")


def _statements(app, send) -> tuple[list[str], int]:
    """The SQL statements one request runs, and the HTTP status."""
    seen: list[str] = []

    def record(conn, cursor, statement, parameters, context, executemany):
        seen.append(statement)

    with app.app_context():
        engine = db.engine
    event.listen(engine, "before_cursor_execute", record)
    try:
        status = send().status_code
    finally:
        event.remove(engine, "before_cursor_execute", record)
    return seen, status


def _signup(client, newsletter):
    fields = form_fields(client.get("/subscribe").get_data(as_text=True))

    def send(email):
        return client.post("/subscribe", data={**fields, "email": email, "name": "", "language": "da",
                                               "topics": [str(newsletter)], "frequency": "announcements"})
    return send


def _new_link(client):
    fields = form_fields(client.get("/confirm/broken").get_data(as_text=True))

    def send(email):
        return client.post("/new-link", data={**fields, "email": email})
    return send


def _queued(app) -> list[str]:
    celery_app = app.extensions["celery"]
    names = []
    with celery_app.connection_for_write() as connection:
        channel = connection.default_channel
        while (message := channel.basic_get("celery", no_ack=True)) is not None:
            names.append(message.headers["task"])
    return names


def test_subscribe_does_the_same_work_for_new_pending_and_confirmed_addresses(app, client, known, run_tasks):
    (newsletter,) = topic_ids(app, "newsletter")
    send = _signup(client, newsletter)
    work = {}
    for email in ("new@example.org", "pending@example.org", "confirmed@example.org"):
        statements, status = _statements(app, lambda: send(email))
        work[email] = (statements, status, _queued(app))
    assert work["new@example.org"] == work["pending@example.org"] == work["confirmed@example.org"]
    assert work["new@example.org"][1] == 303


def test_new_link_does_the_same_work_for_unknown_and_known_addresses(app, client, known, run_tasks):
    send = _new_link(client)
    work = {}
    for email in ("unknown@example.org", "pending@example.org", "confirmed@example.org"):
        statements, status = _statements(app, lambda: send(email))
        work[email] = (statements, status, _queued(app))
    assert work["unknown@example.org"] == work["pending@example.org"] == work["confirmed@example.org"]
    assert work["unknown@example.org"][1] == 303


def _medians(kinds: dict[str, callable]) -> dict[str, float]:
    timings: dict[str, list[float]] = {kind: [] for kind in kinds}
    for round_number in range(ROUNDS + 3):
        for kind, send in kinds.items():  # interleaved: a slow moment of the machine hits every kind alike
            started = time.perf_counter()
            response = send()
            elapsed = time.perf_counter() - started
            assert response.status_code == 303
            if round_number >= 3:  # warm-up
                timings[kind].append(elapsed * 1000)
    return {kind: statistics.median(values) for kind, values in timings.items()}


def _within_2_ms(medians: dict[str, float]) -> bool:
    return max(medians.values()) - min(medians.values()) <= 2.0


def test_subscribe_answers_as_fast_whatever_the_address(app, client, known, run_tasks):
    (newsletter,) = topic_ids(app, "newsletter")
    send = _signup(client, newsletter)
    kinds = {email: (lambda email=email: send(email))
             for email in ("new@example.org", "pending@example.org", "confirmed@example.org")}
    medians = _medians(kinds)
    if not _within_2_ms(medians):  # one retry: a shared machine can stall for longer than a round
        medians = _medians(kinds)
    assert _within_2_ms(medians), medians


def test_new_link_answers_as_fast_whatever_the_address(app, client, known, run_tasks):
    send = _new_link(client)
    kinds = {email: (lambda email=email: send(email)) for email in ("unknown@example.org", "confirmed@example.org")}
    medians = _medians(kinds)
    if not _within_2_ms(medians):
        medians = _medians(kinds)
    assert _within_2_ms(medians), medians
