"""Helpers for the mailing tests; the staff fixtures live in tests/conftest.py."""
from __future__ import annotations

from datetime import datetime, timezone

from mailer.extensions import db
from mailer.models import Event


def create_event(**values) -> int:
    """Insert an event (call inside an app context); return its id."""
    defaults = dict(
        title="Workshop: normer og privilegier", event_type="workshop",
        starts_at=datetime(2031, 9, 19, 15, 0, tzinfo=timezone.utc),
        ends_at=datetime(2031, 9, 19, 18, 0, tzinfo=timezone.utc),
        venue="Musikhuset", city="Aarhus", image_url="https://example.org/workshop.jpg",
        image_alt="Deltagere i en rundkreds", signup_url="https://example.org/tilmeld", language="da",
    )
    event = Event(**{**defaults, **values})
    db.session.add(event)
    db.session.commit()
    return event.id
