"""The webhooks pages in a real browser: add one, see it and its log; axe-core clean, no sideways scroll at 360 px."""
from __future__ import annotations

from mailer.extensions import db
from mailer.models import WebhookEndpoint
from tests.browser.accessibility import serious_violations
from tests.browser.screens import shot

NO_SIDEWAYS_SCROLL = "document.documentElement.scrollWidth <= window.innerWidth"


def test_an_admin_adds_a_webhook_and_reads_its_page(app, browser, live_server):
    base, _smtp = live_server
    app.config["WEBHOOK_ALLOW_PRIVATE"] = True  # the receiver below is on loopback
    page = browser.new_page(viewport={"width": 360, "height": 800}, locale="da-DK")
    page.goto(base + "/staff/login")
    page.fill("#email", "ida@example.org")
    page.fill("#password", "correct horse battery")
    page.click("button[type=submit]")

    page.goto(base + "/staff/webhooks/")
    assert serious_violations(page) == []
    page.click("main button[type=submit]")  # nothing filled in: errors, in Danish
    assert "Skriv URL'en." in page.content() and "Vælg mindst én hændelse." in page.content()
    assert serious_violations(page) == []
    page.fill("#url", "http://127.0.0.1:9/hooks/mailer-with-a-rather-long-path-that-must-wrap")
    page.fill("#description", "CRM")
    page.check("input[value='subscriber.confirmed']")
    page.check("input[value='mailing.sent']")
    page.click("main button[type=submit]")
    assert "/staff/webhooks/" in page.url and "Signeringsnøgle" in page.content()
    page.click("summary")
    with app.app_context():
        endpoint = db.session.scalar(db.select(WebhookEndpoint))
        assert endpoint.events == "subscriber.confirmed mailing.sent"
        assert endpoint.secret in page.content()
    assert serious_violations(page) == []
    assert page.evaluate(NO_SIDEWAYS_SCROLL)
    shot(page, "webhook-01-detail")

    page.click("text=Slå fra")
    assert "Slået fra siden" in page.content()
    assert serious_violations(page) == []
    page.goto(base + "/staff/webhooks/")
    assert "Webhooks, der er slået fra: 1" in page.content()
    assert serious_violations(page) == []
    assert page.evaluate(NO_SIDEWAYS_SCROLL)
    shot(page, "webhook-02-list")

    page.goto(base + "/staff/embed/")
    assert page.evaluate(NO_SIDEWAYS_SCROLL)
