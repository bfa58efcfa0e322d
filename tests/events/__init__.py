"""Shared helpers for the events tests: an event factory."""
from __future__ import annotations

from datetime import datetime, timedelta

from mailer.extensions import db
from tests.clock import NOW

XSS_SCRIPT = "<script>alert(1)</script>"
XSS_IMG = "<img src=x onerror=alert(1)>"


def make_event(title: str = "Workshop i Aarhus", *, starts_in: timedelta = timedelta(days=7),
               hours: float = 3, now: datetime = NOW, **values) -> int:
    """Create an event relative to `now` through the service; return its id. Call inside an app context."""
    from mailer.events.service import EventData, create_event

    starts_at = values.pop("starts_at", now + starts_in)
    ends_at = values.pop("ends_at", starts_at + timedelta(hours=hours))
    values.setdefault("city", "Aarhus")
    event = create_event(EventData(title=title, starts_at=starts_at, ends_at=ends_at, **values))
    db.session.commit()
    return event.id
