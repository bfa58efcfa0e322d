"""The digest's audience snapshot: chunked like any audience, idempotent, and a few queries per chunk."""
from __future__ import annotations

import json
import time

from sqlalchemy import event, select, update

from mailer.mailings.digests import create_due_digest
from mailer.extensions import db
from mailer.models import Delivery, Subscriber
from mailer.sending import digest_audience
from mailer.sending.snapshot import snapshot_audience
from tests.clock import NOW, WEEK
from tests.factories import create_event, create_subscriber, create_subscribers


def payloads(mailing_id: int) -> dict[str, dict]:
    rows = db.session.execute(select(Subscriber.email, Delivery.payload).join(Delivery).where(
        Delivery.mailing_id == mailing_id))
    return {email: json.loads(payload) for email, payload in rows}


def test_chunks_give_the_same_rows_as_one_pass_and_a_repeated_chunk_adds_nothing(app, monkeypatch):
    with app.app_context():
        copenhagen = create_event("Workshop i København", "events-copenhagen", created_at=NOW - WEEK, starts_at=NOW + WEEK,
                                  hours=2, venue="Literaturhaus", city="København")
        aarhus = create_event("Netværk i Aarhus", "events-aarhus", created_at=NOW - WEEK, starts_at=NOW + 2 * WEEK,
                              hours=2, venue="Literaturhaus", city="København")
        for i in range(9):
            frequency = ("digest", "both", "announcements")[i % 3]
            topics = ("events-copenhagen",) if i < 4 else ("events-copenhagen", "events-aarhus")
            create_subscriber(f"reader{i}@example.org", *topics, frequency=frequency)
        create_subscriber("online@example.org", "online-courses", frequency="digest")  # eligible, but nothing to list
        chunked, whole = create_due_digest(NOW), create_due_digest(NOW + WEEK)

        seen, after = [], 0
        while True:
            chunk = snapshot_audience(chunked, after, limit=2)
            seen.append((chunk.added, chunk.complete))
            assert snapshot_audience(chunked, after, limit=2).added == 0  # a redelivered chunk
            if chunk.complete:
                break
            after = chunk.last_subscriber_id
        # 7 eligible subscribers (the 6 digest readers and online@), 2 at a time; online@ gets no row.
        assert seen == [(2, False), (2, False), (2, False), (0, True)]

        monkeypatch.setattr(digest_audience, "CHUNK_SIZE", 2)  # several rounds inside one call
        assert snapshot_audience(whole).added == 6
        assert payloads(chunked) == payloads(whole)
        assert payloads(whole)["reader0@example.org"] == {"events": [copenhagen], "new": [copenhagen]}
        assert payloads(whole)["reader4@example.org"] == {"events": [copenhagen, aarhus], "new": [copenhagen, aarhus]}


def test_a_large_digest_takes_a_few_queries_per_chunk_not_one_per_subscriber(app):
    count = 6000
    with app.app_context():
        for slug in ("events-copenhagen", "events-aarhus", "online-courses"):
            create_event(f"Arrangement: {slug}", slug, created_at=NOW - WEEK, starts_at=NOW + WEEK,
                         hours=2, venue="Literaturhaus", city="København")
            create_subscribers(count // 3, slug, prefix=slug)
        db.session.execute(update(Subscriber).values(frequency="digest"))
        db.session.commit()
        digest_id = create_due_digest(NOW)
        statements = []
        listener = lambda *args: statements.append(args[2])  # noqa: E731
        event.listen(db.engine, "before_cursor_execute", listener)
        try:
            started = time.monotonic()
            assert snapshot_audience(digest_id).added == count
            elapsed = time.monotonic() - started
        finally:
            event.remove(db.engine, "before_cursor_execute", listener)
    rounds = -(-count // digest_audience.CHUNK_SIZE) + 1  # the last round finds no one left
    assert len(statements) <= 4 * rounds + 6, statements
    assert elapsed < 15
