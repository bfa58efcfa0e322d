"""The digest made by hand: the staff preview of who would get what, its button, and `flask digest`."""
from __future__ import annotations

import re
from datetime import timedelta

from sqlalchemy import func, select

from mailer.extensions import db
from mailer.mailings.digests import create_due_digest
from mailer.models import Mailing, MailingKind, MailingStatus
from tests.clock import NOW, WEEK
from tests.factories import create_event, create_subscriber
from tests.helpers import csrf_token


def _readers_and_events(app) -> None:
    with app.app_context():
        create_subscriber("mette@example.org", "events-copenhagen", frequency="digest")
        create_subscriber("freja@example.org", "events-aarhus", frequency="both", language="en")
        create_subscriber("anna@example.org", "events-aarhus", frequency="announcements")
        create_event("Workshop i København", "events-copenhagen", created_at=NOW - timedelta(days=2),
                     starts_at=NOW + 2 * WEEK)
        create_event("Netværk i Aarhus", "events-aarhus", created_at=NOW - timedelta(days=2), starts_at=NOW + 3 * WEEK)


def digests() -> int:
    return db.session.scalar(select(func.count()).where(Mailing.kind == MailingKind.DIGEST))


def test_staff_see_who_would_get_which_events_and_an_admin_sends_it_once(app, admin, clock):
    _readers_and_events(app)
    page = admin.get("/staff/digest/").get_data(as_text=True)
    assert "2 readers would get a digest." in page
    assert re.search(r"mette@example.org.*?Workshop i København", page, re.S)
    assert re.search(r"freja@example.org.*?Netværk i Aarhus", page, re.S)
    assert "anna@example.org" not in page and "Send the digest now" in page
    response = admin.post("/staff/digest/send-now", data={"csrf_token": csrf_token(admin)})
    assert response.status_code == 303
    with app.app_context():
        digest = db.session.scalar(select(Mailing).where(Mailing.kind == MailingKind.DIGEST))
        assert digest.status == MailingStatus.SCHEDULED and f"/staff/mailings/{digest.id}" in response.headers["Location"]
    again = admin.post("/staff/digest/send-now", data={"csrf_token": csrf_token(admin)})  # a double click
    assert again.status_code == 303
    with app.app_context():
        assert digests() == 1
        # The beat's digest of this period, and of a period that begins within a day, count it as theirs.
        assert create_due_digest(NOW + timedelta(hours=1)) is None
    assert "A digest was made less than a day ago" in admin.get("/staff/digest/").get_data(as_text=True)


def test_an_editor_sees_the_preview_but_no_button(app, editor, clock):
    _readers_and_events(app)
    page = editor.get("/staff/digest/").get_data(as_text=True)
    assert "2 readers would get a digest." in page and "Send the digest now" not in page
    assert editor.post("/staff/digest/send-now", data={"csrf_token": csrf_token(editor)}).status_code == 403


def test_flask_digest_preview_and_send_now(app, clock):
    _readers_and_events(app)
    runner = app.test_cli_runner()
    result = runner.invoke(args=["digest", "preview"])
    assert result.exit_code == 0, result.output
    assert "mette@example.org [da, digest]: Workshop i København (new)" in result.output
    assert "freja@example.org [en, both]: Netværk i Aarhus (new)" in result.output
    assert "2 readers would get a digest" in result.output
    with app.app_context():
        assert digests() == 0  # a preview changes nothing
    result = runner.invoke(args=["digest", "send-now", "--yes"])
    assert result.exit_code == 0, result.output
    assert re.search(r"digest \d+ made and queued", result.output)
    result = runner.invoke(args=["digest", "send-now", "--yes"])
    assert "no second one is made" in result.output
    with app.app_context():
        assert digests() == 1
