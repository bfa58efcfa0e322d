"""Issue 15 in a real browser: a topic in both languages on the signup form, archived away; a mailing
sent to a real SMTP server, a link in the received mail clicked, and the count on the results page and
the dashboard; axe-core finds nothing serious on the dashboard, topics and results pages.
"""
from __future__ import annotations

import re

from mailer.extensions import db
from mailer.models import Mailing
from tests.browser.accessibility import serious_violations
from tests.browser.screens import shot
from tests.helpers import parse_mail

# The link's target: the public events page of the app itself, so the browser can really land on it.
TARGET_PATH = "/events?by=aarhus&uge=38#tilmelding"


def _login(page, base: str) -> None:
    page.goto(base + "/staff/login")
    page.fill("#email", "ida@example.org")
    page.fill("#password", "correct horse battery")
    page.click("button[type=submit]")
    page.wait_for_url("**/staff/")  # logged in before the next page is asked for


def test_topic_lifecycle_and_a_counted_click_in_the_browser(app, browser, live_server, run_tasks):
    base, smtp = live_server
    target = base + TARGET_PATH
    page = browser.new_page(viewport={"width": 1200, "height": 900}, locale="en-GB")
    _login(page, base)
    assert page.url == base + "/staff/"                     # login lands on the dashboard
    assert page.locator("h1").inner_text() == "Dashboard"
    assert serious_violations(page) == []

    # A topic in both languages, on the signup form in each.
    page.goto(base + "/staff/topics/")
    page.fill("#name_da", "Keramik")
    page.fill("#name_en", "Ceramics")
    page.fill("#description_da", "Værksteder med ler")
    page.fill("#description_en", "Clay workshops")
    page.click("text=Add topic")
    assert "has been created" in page.content()
    assert serious_violations(page) == []
    shot(page, "15-01-topics")
    visitor = browser.new_page(locale="en-GB")
    visitor.goto(base + "/subscribe")
    assert visitor.locator("label", has_text="Ceramics").count() == 1
    danish = browser.new_page(locale="da-DK")
    danish.goto(base + "/subscribe")
    assert danish.locator("label", has_text="Keramik").count() == 1
    assert "Værksteder med ler" in danish.content()

    # Archived: gone from the signup form.
    page.goto(base + "/staff/topics/")
    page.click("button[aria-label='Archive Ceramics']")
    assert "is archived" in page.content()
    visitor.goto(base + "/subscribe")
    assert visitor.locator("label", has_text="Ceramics").count() == 0

    # A mailing with a link, sent to the three Aarhus subscribers through the real SMTP server.
    page.goto(base + "/staff/mailings/new")
    page.fill("#subject_da", "Program for uge 38")
    page.fill("#body_markdown_da", f"Se hele [programmet]({target}).")
    page.check("text=Events in Aarhus")
    page.click("main button[type=submit]")
    page.click("button:has-text('Send now')")
    for _ in range(20):
        run_tasks()
        if len(smtp.messages) >= 3:
            break
    mails = smtp.wait_for(lambda messages: len(messages) >= 3)
    text = parse_mail(mails[0][2]).get_body(("plain",)).get_content()
    link = re.search(re.escape(base) + r"/l/[A-Za-z0-9_.-]+", text).group(0).rstrip(".")
    assert target not in text

    # The reader clicks: the browser lands on the exact original URL, query string and fragment kept.
    reader = browser.new_page()
    reader.goto(link)
    assert reader.url == target

    with app.app_context():
        mailing_id = db.session.scalar(db.select(Mailing.id).filter_by(subject_da="Program for uge 38"))
    page.goto(f"{base}/staff/mailings/{mailing_id}/results")
    clicks = page.locator("section[aria-labelledby=clicks-heading] table tbody tr")
    assert clicks.count() == 1
    assert clicks.locator("td").nth(0).inner_text() == target and clicks.locator("td").nth(1).inner_text() == "1"
    assert serious_violations(page) == []
    shot(page, "15-02-results")

    page.goto(base + "/staff/")
    row = page.locator("section[aria-labelledby=mailings-heading] tr", has_text="Program for uge 38")
    assert row.locator("td").nth(7).inner_text() == "1"     # clicks
    assert row.locator("td").nth(3).inner_text() == "3"     # delivered
    assert serious_violations(page) == []
    shot(page, "15-03-dashboard")

    # A phone: no sideways scroll on the dashboard.
    phone = browser.new_page(viewport={"width": 360, "height": 800})
    _login(phone, base)
    wide = phone.evaluate("""() => [...document.querySelectorAll('body *')]
        .filter(e => e.getBoundingClientRect().right > 361)
        .map(e => e.tagName + '.' + e.className + '#' + e.id + ' ' + Math.round(e.getBoundingClientRect().right)).slice(0, 15)""")
    assert phone.evaluate("document.documentElement.scrollWidth") <= 360, wide
