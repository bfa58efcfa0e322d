"""Sending in a real browser: an announcement with no audience cannot be sent, and the progress page
follows "send now" from scheduled to sent by itself, while a real Celery worker sends the mail.

The second test serves the app configured as in production (PostgreSQL, Redis as the broker,
an aiosmtpd SMTP server) and starts the worker only once the page shows "Scheduled", so the
page has to change by itself to reach "Sent".
"""
from __future__ import annotations

import re
import threading

import pytest
from werkzeug.serving import make_server

from mailer.extensions import db
from mailer.mailings import states
from mailer.models import MailingStatus, StaffRole, StaffUser
from tests.browser.screens import shot
from tests.factories import create_mailing, create_subscribers
from tests.integration.conftest import live_app, service_env, smtp_server  # noqa: F401 - fixtures used below
from tests.integration.worker_process import WorkerProcess
from tests.smtp_server import free_port

PASSWORD = "correct horse battery"


def _log_in(page, base: str, email: str = "ida@example.org") -> None:
    page.goto(base + "/staff/login")
    page.fill("#email", email)
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url("**/staff/")  # logged in before the next page is asked for


def test_an_announcement_with_no_audience_cannot_be_sent(app, browser, live_server):
    base, smtp = live_server
    with app.app_context():
        mailing_id = create_mailing("newsletter")  # nobody follows the newsletter: the readers are in Aarhus
    page = browser.new_page(viewport={"width": 1200, "height": 900}, locale="en-GB")
    _log_in(page, base)
    page.goto(f"{base}/staff/mailings/{mailing_id}/preview")
    audience = page.locator("section.audience")
    assert "0 recipients if it went now" in audience.inner_text()
    assert "Nobody would get this mailing now, so it cannot be scheduled or sent." in audience.inner_text()
    send_now = page.locator("button", has_text=re.compile(r"Send now to 0 recipients"))
    assert send_now.is_disabled()
    shot(page, "sending-01-no-audience")
    # Even a button forced back on (or a stale page) gets the refusal from the server, in words.
    send_now.evaluate("button => button.removeAttribute('disabled')")
    send_now.click()
    page.wait_for_load_state()
    assert "Nobody would get this mailing: its audience is empty now." in page.locator("main").inner_text()
    shot(page, "sending-02-refused")
    with app.app_context():
        assert states.status_of(mailing_id) == MailingStatus.DRAFT
    assert smtp.messages == []


@pytest.fixture
def served(live_app):  # noqa: F811 - the fixture imported above
    """The production-configured app on a loopback port, with an admin and three newsletter readers."""
    with live_app.app_context():
        admin = StaffUser(email="ida@example.org", role=StaffRole.ADMIN)
        admin.set_password(PASSWORD)
        db.session.add(admin)
        db.session.commit()
        create_subscribers(3, "newsletter")
        mailing_id = create_mailing("newsletter", subject="Ny workshop i Aarhus")
    port = free_port()
    server = make_server("127.0.0.1", port, live_app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{port}", mailing_id
    server.shutdown()


def test_the_progress_page_reaches_sent_without_a_reload(live_app, browser, served, service_env, smtp_server, tmp_path):  # noqa: F811
    base, mailing_id = served
    page = browser.new_page(viewport={"width": 1200, "height": 900}, locale="en-GB")
    _log_in(page, base)
    page.goto(f"{base}/staff/mailings/{mailing_id}/preview")
    page.click("button:has-text('Send now to 3 recipients')")
    page.wait_for_url(re.compile(rf"/staff/mailings/{mailing_id}$"))
    status = page.locator("#mailing-progress .mailing-status")
    assert status.inner_text() == "Scheduled"  # no worker yet: the start task waits in Redis
    assert "0 of 0 messages handled" in page.locator("#mailing-progress").inner_text()
    shot(page, "sending-03-scheduled")
    navigations = []
    page.on("framenavigated", lambda frame: navigations.append(frame.url) if frame == page.main_frame else None)

    worker = WorkerProcess(service_env, tmp_path / "worker.log")
    worker.start()
    try:
        page.wait_for_function(
            "() => document.querySelector('#mailing-progress .mailing-status')?.textContent.trim() === 'Sent'",
            timeout=60_000)
    finally:
        worker.stop()
    assert "3 of 3 messages handled" in page.locator("#mailing-progress").inner_text()
    assert page.locator("[data-count=sent]").first.inner_text() == "3"
    shot(page, "sending-04-sent")
    # The test never reloaded: any navigation was htmx's own refresh of the same page at the end.
    assert set(navigations) <= {f"{base}/staff/mailings/{mailing_id}"}
    assert len(smtp_server.messages) == 3
    with live_app.app_context():
        assert states.status_of(mailing_id) == MailingStatus.SENT
