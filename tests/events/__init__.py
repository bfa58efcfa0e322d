"""Shared helpers for the events tests: a fixed clock and an event factory."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

from mailer.extensions import db

# A Monday in May, 12:00 UTC (14:00 in Copenhagen): "now" for every test that needs a clock.
NOW = datetime(2026, 5, 11, 12, 0, tzinfo=timezone.utc)
XSS_SCRIPT = "<script>alert(1)</script>"
XSS_IMG = "<img src=x onerror=alert(1)>"


def fix_clock(monkeypatch, now: datetime = NOW) -> datetime:
    """Freeze the one clock every module asks (mailer.clock.utcnow) at `now`."""
    monkeypatch.setattr("mailer.clock.utcnow", lambda: now)
    return now


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
