"""Shared helpers for the events tests: a fixed clock, event factories and staff login."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

from mailer.extensions import db
from mailer.models import StaffRole, StaffUser
from tests.conftest import form_fields

# A Monday in May, 12:00 UTC (14:00 in Copenhagen): "now" for every test that needs a clock.
NOW = datetime(2026, 5, 11, 12, 0, tzinfo=timezone.utc)
PASSWORD = "correct horse battery"
XSS_SCRIPT = "<script>alert(1)</script>"
XSS_IMG = "<img src=x onerror=alert(1)>"


def register_event_blueprints(app) -> None:
    """Register the events pages on the test app, before its first request."""
    from mailer.public.events_views import bp as public_bp
    from mailer.staff.events_views import bp as staff_bp

    for bp in (public_bp, staff_bp):
        if bp.name not in app.blueprints:
            app.register_blueprint(bp)


def fix_clock(monkeypatch, now: datetime = NOW) -> datetime:
    """Make the events service (and the .ics DTSTAMP) believe it is `now`."""
    monkeypatch.setattr("mailer.events.service.utcnow", lambda: now)
    monkeypatch.setattr("mailer.events.calendar.utcnow", lambda: now)
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


def create_staff(app, email: str = "editor@example.org", role: StaffRole = StaffRole.EDITOR) -> None:
    with app.app_context():
        user = StaffUser(email=email, role=role)
        user.set_password(PASSWORD)
        db.session.add(user)
        db.session.commit()


def login(client, email: str = "editor@example.org") -> None:
    page = client.get("/staff/login")
    response = client.post("/staff/login", data={**form_fields(page.get_data(as_text=True)), "email": email,
                                                 "password": PASSWORD})
    assert response.status_code == 302
