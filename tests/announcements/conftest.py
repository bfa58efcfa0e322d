"""Fixtures for the announcement pages: blueprints registered, an admin and an editor."""
from __future__ import annotations

from datetime import datetime, timezone

import pytest

from mailer.extensions import db
from mailer.models import Event, StaffRole, StaffUser
from tests.conftest import form_fields

PASSWORD = "correct horse battery"


@pytest.fixture
def app(app):
    """The conftest app with the announcement, template, sending and archive pages registered."""
    from mailer.public.archive_views import bp as archive_bp
    from mailer.staff.announcement_views import bp as announcements_bp
    from mailer.staff.sending_views import bp as sending_bp
    from mailer.staff.template_views import bp as templates_bp

    for bp in (announcements_bp, templates_bp, sending_bp, archive_bp):
        if bp.name not in app.blueprints:
            app.register_blueprint(bp)
    return app


@pytest.fixture
def staff(app):
    with app.app_context():
        for email, role in (("admin@example.org", StaffRole.ADMIN), ("editor@example.org", StaffRole.EDITOR)):
            user = StaffUser(email=email, role=role)
            user.set_password(PASSWORD)
            db.session.add(user)
        db.session.commit()


def login(client, email: str) -> None:
    page = client.get("/staff/login")
    response = client.post("/staff/login", data={**form_fields(page.get_data(as_text=True)), "email": email,
                                                 "password": PASSWORD})
    assert response.status_code == 302


@pytest.fixture
def admin(client, staff):
    login(client, "admin@example.org")
    return client


@pytest.fixture
def editor(client, staff):
    login(client, "editor@example.org")
    return client


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
