"""Who may do what: editors draft, preview and test; admins schedule, send, unschedule and manage templates."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import update

from mailer.extensions import db
from mailer.models import Mailing, MailingStatus, MailTemplate
from mailer.models.types import utcnow
from mailer.mailings import states
from tests.helpers import form_fields
from tests.factories import create_mailing, create_subscribers


@pytest.fixture
def draft(app) -> int:
    with app.app_context():
        return create_mailing("newsletter")


@pytest.mark.parametrize("action", ["schedule", "send-now", "unschedule"])
def test_an_editor_gets_403_on_sending_actions(app, editor, draft, action):
    page = editor.get(f"/staff/mailings/{draft}/preview").get_data(as_text=True)
    assert f"/{action}" not in page  # the buttons are not even shown
    response = editor.post(f"/staff/mailings/{draft}/{action}", data={**form_fields(page), "when": "2031-01-01T10:00"})
    assert response.status_code == 403
    with app.app_context():
        assert states.status_of(draft) == MailingStatus.DRAFT


@pytest.mark.parametrize("method, path", [
    ("get", "/staff/templates/"), ("get", "/staff/templates/new"), ("post", "/staff/templates/new"),
    ("get", "/staff/templates/{id}/edit"), ("post", "/staff/templates/{id}/edit"),
])
def test_an_editor_gets_403_on_custom_templates(app, editor, method, path):
    with app.app_context():
        template = MailTemplate(name="Efterår", html_source="{{ unsubscribe_url }}", text_source="{{ unsubscribe_url }}")
        db.session.add(template)
        db.session.commit()
        path = path.format(id=template.id)
    token = form_fields(editor.get("/staff/mailings/").get_data(as_text=True))
    kwargs = {"data": {**token, "name": "x", "html_source": "{{ unsubscribe_url }}", "text_source": "{{ unsubscribe_url }}"}}
    assert getattr(editor, method)(path, **(kwargs if method == "post" else {})).status_code == 403


@pytest.mark.parametrize("path", ["/staff/mailings/", "/staff/mailings/new", "/staff/mailings/1/edit",
                                  "/staff/mailings/1/preview", "/staff/templates/"])
def test_every_page_needs_login(client, path):
    response = client.get(path)
    assert response.status_code == 302 and "/staff/login" in response.headers["Location"]


def test_an_admin_schedules_in_danish_time(app, admin, draft):
    with app.app_context():
        create_subscribers(1)  # an audience of nobody is refused (tests/mailings/test_audience_summary.py)
    page = admin.get(f"/staff/mailings/{draft}/preview").get_data(as_text=True)
    next_year = utcnow().year + 1
    response = admin.post(f"/staff/mailings/{draft}/schedule",
                          data={**form_fields(page), "when": f"{next_year}-07-01T09:30"})
    assert response.status_code == 303
    with app.app_context():
        mailing = db.session.get(Mailing, draft)
        assert mailing.status == MailingStatus.SCHEDULED
        # 09:30 in Copenhagen in July (summer time, UTC+2) is 07:30 UTC.
        assert mailing.scheduled_at == datetime(next_year, 7, 1, 7, 30, tzinfo=timezone.utc)
        assert mailing.presend_warnings is not None
    page = admin.get(f"/staff/mailings/{draft}/preview").get_data(as_text=True)
    assert admin.post(f"/staff/mailings/{draft}/unschedule", data=form_fields(page)).status_code == 303
    with app.app_context():
        assert states.status_of(draft) == MailingStatus.DRAFT


@pytest.mark.parametrize("when, message", [
    ("2001-01-01T10:00", "Please choose a time in the future."),
    ("", "Please choose a date and time."),
    ("tomorrow", "Please choose a date and time."),
    (f"{utcnow().year + 1}-03-{31 - (datetime(utcnow().year + 1, 3, 31).weekday() + 1) % 7:02d}T02:30",
     "That time does not exist in Denmark"),
])
def test_a_bad_schedule_time_is_refused_with_a_message(app, admin, draft, when, message):
    page = admin.get(f"/staff/mailings/{draft}/preview").get_data(as_text=True)
    response = admin.post(f"/staff/mailings/{draft}/schedule", data={**form_fields(page), "when": when})
    assert response.status_code == 400
    assert message in response.get_data(as_text=True)
    with app.app_context():
        assert states.status_of(draft) == MailingStatus.DRAFT


def test_send_now_starts_sending_and_shows_the_progress_page(app, admin, draft, run_tasks, outbox):
    with app.app_context():
        create_subscribers(3)
    page = admin.get(f"/staff/mailings/{draft}/preview").get_data(as_text=True)
    response = admin.post(f"/staff/mailings/{draft}/send-now", data=form_fields(page))
    assert response.status_code == 303
    assert response.headers["Location"].endswith(f"/staff/mailings/{draft}")
    assert run_tasks() >= 1  # start_mailing, then the senders it wakes
    run_tasks()
    assert len(outbox.sent) == 3
    with app.app_context():
        assert states.status_of(draft) == MailingStatus.SENT
    assert admin.post(f"/staff/mailings/{draft}/send-now", data=form_fields(page)).status_code == 303
    assert admin.post(f"/staff/mailings/{draft}/send-now").status_code == 400  # no CSRF token


def test_a_sending_mailing_cannot_be_scheduled_again(app, admin, draft):
    page = admin.get(f"/staff/mailings/{draft}/preview").get_data(as_text=True)
    with app.app_context():
        db.session.execute(update(Mailing).where(Mailing.id == draft).values(status=MailingStatus.SENDING))
        db.session.commit()
    when = (utcnow() + timedelta(days=3)).strftime("%Y-%m-%dT%H:%M")
    assert admin.post(f"/staff/mailings/{draft}/schedule", data={**form_fields(page), "when": when}).status_code == 303
    with app.app_context():
        assert states.status_of(draft) == MailingStatus.SENDING
