"""Fixtures and helpers shared by the admin page tests; test modules import the fixtures they use."""
from __future__ import annotations

import pytest

from mailer.extensions import db
from mailer.models import StaffRole, StaffUser
from tests.conftest import form_fields

PASSWORD = "correct horse battery"
ADMIN = "admin@example.org"
EDITOR = "editor@example.org"


@pytest.fixture
def app(app):
    """The conftest app with the admin blueprints registered, before any request reaches it."""
    from mailer.staff.subscriber_views import bp as subscribers_bp
    from mailer.staff.team_views import bp as team_bp

    for bp in (subscribers_bp, team_bp):
        if bp.name not in app.blueprints:
            app.register_blueprint(bp)
    return app


@pytest.fixture
def staff(app):
    """An admin and an editor."""
    with app.app_context():
        for email, role in ((ADMIN, StaffRole.ADMIN), (EDITOR, StaffRole.EDITOR)):
            user = StaffUser(email=email, role=role)
            user.set_password(PASSWORD)
            db.session.add(user)
        db.session.commit()


def login(client, email: str, password: str = PASSWORD):
    page = client.get("/staff/login")
    return client.post("/staff/login", data={**form_fields(page.get_data(as_text=True)), "email": email, "password": password})


def csrf_token(client) -> str:
    """The session's CSRF token, taken from a page every logged-in member of staff can see."""
    page = client.get("/staff/outbox")
    assert page.status_code == 200
    return form_fields(page.get_data(as_text=True))["csrf_token"]


@pytest.fixture
def admin(client, staff):
    assert login(client, ADMIN).status_code == 302
    return client


@pytest.fixture
def editor(client, staff):
    assert login(client, EDITOR).status_code == 302
    return client
