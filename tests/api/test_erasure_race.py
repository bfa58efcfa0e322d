"""A change that meets an erasure of the same subscriber answers 404, never a 500.

Schemathesis found it with parallel workers: a PATCH read the subscriber, an erasure deleted it
and committed, and the PATCH's consent-ledger row then broke the foreign key. Here the erasure
is held open on its own connection while the PATCH arrives, then committed.
"""
from __future__ import annotations

import threading
import time

import pytest
from sqlalchemy import text

from mailer.extensions import db
from tests.factories import create_subscribers


def test_a_patch_that_meets_an_erasure_gets_404(app, api):
    with app.app_context():
        if db.engine.dialect.name != "postgresql":
            pytest.skip("row locks are PostgreSQL's; SQLite serialises writers")
        [subscriber_id] = create_subscribers(1)
        erasing = db.engine.connect()
    transaction = erasing.begin()
    for table in ("delivery", "consent_event", "subscription", "subscriber"):
        column = "id" if table == "subscriber" else "subscriber_id"
        erasing.execute(text(f"DELETE FROM {table} WHERE {column} = :id"), {"id": subscriber_id})
    answers = []
    patch = threading.Thread(target=lambda: answers.append(
        api.patch(f"/api/v1/subscribers/{subscriber_id}", json={"frequency": "digest"})))
    patch.start()
    time.sleep(1.0)  # the PATCH is now waiting on the erasure's row lock
    transaction.commit()
    erasing.close()
    patch.join(timeout=30)
    assert [answer.status_code for answer in answers] == [404]
    assert answers[0].json["status"] == 404
