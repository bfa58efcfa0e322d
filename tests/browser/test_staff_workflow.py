"""A member of staff in a real browser: event, mailing, preview, test send, schedule.

Playwright drives Debian's Chromium against the app served on loopback; the test mail goes
to a real SMTP server (aiosmtpd) started in tests/browser/conftest.py. Screenshots go to test-artifacts/screenshots/.
"""
from __future__ import annotations

from datetime import timedelta

from mailer.extensions import db
from mailer.models import Mailing, MailingStatus
from mailer.models.types import utcnow
from tests.browser.screens import SHOTS, shot
from tests.helpers import parse_mail


def test_staff_creates_event_drafts_previews_tests_and_schedules(app, browser, live_server):
    base, smtp = live_server
    page = browser.new_page(viewport={"width": 1200, "height": 900}, locale="en-GB")
    page.goto(base + "/staff/login")
    page.fill("#email", "ida@example.org")
    page.fill("#password", "correct horse battery")
    page.click("button[type=submit]")
    page.wait_for_url("**/staff/")  # logged in before the next page is asked for
    shot(page, "01-mailings")

    # An event in Aarhus, in Danish time.
    page.goto(base + "/staff/events/new")
    starts = (utcnow() + timedelta(days=30)).strftime("%Y-%m-%d")
    page.fill("#title_da", "Workshop: normer og privilegier")
    page.select_option("#event_type", "workshop")
    page.fill("#starts_at", f"{starts}T13:00")
    page.fill("#ends_at", f"{starts}T17:00")
    page.fill("#venue_da", "Godsbanen")
    page.fill("#city", "Aarhus")
    page.fill("#description_da", "En workshop om **normer**, bias og privilegier.")
    page.fill("#signup_url", "https://example.org/tilmeld")
    page.check("text=Events in Aarhus")
    shot(page, "02-event-form")
    page.click("main button[type=submit]")
    page.goto(base + "/events")
    assert "Workshop: normer og privilegier" in page.content()
    shot(page, "03-public-events")

    # The mailing of it.
    page.goto(base + "/staff/mailings/new")
    page.fill("#subject_da", "Ny workshop i Aarhus")
    page.fill("#preheader_da", "Normer, bias og privilegier")
    page.fill("#body_markdown_da", "Vi holder en ny workshop. [Læs mere og tilmeld dig](https://example.org/tilmeld)")
    page.check("text=Events in Aarhus")
    event_option = page.locator("#event_id option", has_text="Workshop: normer og privilegier")
    page.select_option("#event_id", event_option.get_attribute("value"))
    page.click("main button[type=submit]")
    assert "/preview" in page.url

    # Preview it as a real subscriber.
    page.fill("input[name=q]", "aarhus1")
    page.press("input[name=q]", "Enter")
    page.click("text=aarhus1@example.org")
    preview = page.content()
    assert "Ny workshop i Aarhus" in preview
    frame = page.frame_locator("iframe").first
    assert "Læser 1" in frame.locator("body").inner_text()  # the subscriber's own name
    page.wait_for_timeout(500)  # let the sandboxed frame paint before the screenshot
    shot(page, "04-preview")
    page.locator("iframe").first.screenshot(path=str(SHOTS / "04b-preview-html-part.png"))

    # A test to the staff's address: through the same render path, to the real SMTP server.
    page.fill("#addresses", "aarhus1@example.org")
    page.click("text=Send test")
    (mail,) = smtp.wait_for(lambda messages: len(messages) >= 1)
    message = parse_mail(mail[2])
    assert message["Subject"] == "[TEST] Ny workshop i Aarhus"
    html = message.get_body(("html",)).get_content()
    text = message.get_body(("plain",)).get_content()
    assert "Workshop: normer og privilegier" in html and "Godsbanen" in html  # the event card
    assert any(part.get_content_type() == "text/calendar" for part in message.walk())
    unsubscribe = next(line for line in text.split() if "/unsubscribe/" in line)
    page.goto(unsubscribe)
    assert page.locator("h1").inner_text() in ("Afmeld", "Unsubscribe")  # the link works
    shot(page, "05-unsubscribe-from-test-mail")

    # Schedule it for tomorrow, Danish time.
    with app.app_context():
        mailing_id = db.session.scalar(db.select(Mailing.id))
    page.goto(f"{base}/staff/mailings/{mailing_id}/preview")
    tomorrow = (utcnow() + timedelta(days=1)).strftime("%Y-%m-%d")
    page.fill("#when", f"{tomorrow}T09:00")
    page.click("button:has-text('Schedule')")
    shot(page, "06-scheduled")
    with app.app_context():
        mailing = db.session.get(Mailing, mailing_id)
        assert mailing.status == MailingStatus.SCHEDULED
        assert mailing.scheduled_at > utcnow()
