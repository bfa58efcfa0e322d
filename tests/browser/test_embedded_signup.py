"""The signup form on the organisation's own site: an admin makes the snippet, a visitor signs up through it.

The site is a second origin (another loopback port) serving a page with the generated snippet; the
confirmation mail goes to a real SMTP server (aiosmtpd); a site not on MAILER_EMBED_ORIGINS is refused.
"""
from __future__ import annotations

import re

from mailer.extensions import db
from mailer.models import ConsentEvent, PublicRequest, Subscriber, SubscriberStatus
from tests.browser.accessibility import serious_violations
from tests.browser.screens import shot
from tests.helpers import parse_mail

PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Kunst &amp; Kultur i Balance</title></head>
<body><main><h1>Our newsletter</h1>
{snippet}
</main></body></html>"""


def make_snippet(page, base: str) -> str:
    """Log in as the admin and have the staff page write a snippet: one topic, English, thank-you in place."""
    page.goto(base + "/staff/login")
    page.fill("#email", "ida@example.org")
    page.fill("#password", "correct horse battery")
    page.click("button[type=submit]")
    page.wait_for_url("**/staff/")  # logged in before the next page is asked for
    page.goto(base + "/staff/embed/")
    assert serious_violations(page) == []
    page.check("text=Events in Aarhus")
    page.check("input[name=language][value=en]")
    page.check("input[name=thanks][value=inline]")
    page.click("main button[type=submit]")
    assert serious_violations(page) == []
    shot(page, "embed-01-snippet")
    return page.input_value("#snippet-code")


def test_a_visitor_signs_up_through_the_form_on_the_organisations_site(app, browser, live_server, other_site,
                                                                       run_tasks):
    base, smtp = live_server
    site_pages: dict[str, str] = {}
    site = other_site(site_pages)
    refused_site = other_site(site_pages)  # the same page, from an origin not on the list
    app.config["EMBED_ORIGINS"] = frozenset({site})
    staff_page = browser.new_page(viewport={"width": 1200, "height": 900}, locale="en-GB")
    snippet = make_snippet(staff_page, base)
    assert f"{base}/embed/subscribe" in snippet
    site_pages["/newsletter"] = PAGE.format(snippet=snippet)

    # A visitor on the organisation's site, on a phone.
    visitor = browser.new_page(viewport={"width": 360, "height": 800}, locale="en-GB")
    visitor.goto(site + "/newsletter")
    visitor.wait_for_function("document.querySelector('input[name=form_token]').value.length > 0")
    visitor.fill("#mailer-email", "besoeg@example.org")
    visitor.fill("#mailer-name", "Besøg Ende")
    visitor.check("text=Events in Aarhus")
    visitor.click("button[type=submit]")
    status = visitor.locator("[data-mailer-status]")
    status.filter(has_text="check your inbox").wait_for()
    assert visitor.locator("#mailer-email").is_hidden()  # the thank-you took the form's place
    shot(visitor, "embed-02-thank-you-in-place")

    run_tasks()  # the signup task, then the opt-in mail task, as a worker would
    (mail,) = smtp.wait_for(lambda messages: len(messages) >= 1)
    message = parse_mail(mail[2])
    assert "besoeg@example.org" in message["To"]
    confirm_link = re.search(r"http://127\.0\.0\.1:\d+/confirm/\S+", message.get_body(("plain",)).get_content())
    visitor.goto(confirm_link.group(0))
    visitor.click("main button[type=submit]")
    run_tasks()  # the welcome mail
    smtp.wait_for(lambda messages: len(messages) >= 2)
    with app.app_context():
        subscriber = db.session.scalar(db.select(Subscriber).filter_by(email="besoeg@example.org"))
        assert subscriber.status == SubscriberStatus.CONFIRMED
        channels = {e.action: e.channel for e in db.session.scalars(
            db.select(ConsentEvent).filter_by(subscriber_id=subscriber.id))}
        assert channels["signup"] == "embed" and channels["confirm"] == "link"

    # The same snippet on a site that is not on the list: no token, no signup.
    stranger = browser.new_page(viewport={"width": 360, "height": 800}, locale="en-GB")
    stranger.goto(refused_site + "/newsletter")
    stranger_status = stranger.locator("[data-mailer-status]")
    stranger_status.filter(has_text="cannot be used right now").wait_for()
    stranger.fill("#mailer-email", "stranger@example.org")
    stranger.check("text=Events in Aarhus")
    stranger.click("button[type=submit]")
    stranger_status.filter(has_text="did not go through").wait_for()
    refused = stranger.evaluate("""async (url) => {
        const body = new FormData(document.querySelector('form'));
        try { await fetch(url, {method: 'POST', body}); return 'readable'; } catch (e) { return 'blocked'; }
    }""", f"{base}/embed/subscribe")
    assert refused == "blocked"  # no CORS header for this origin: its page cannot even read the answer
    assert run_tasks() == 0
    with app.app_context():
        assert db.session.scalar(db.select(Subscriber).filter_by(email="stranger@example.org")) is None
        assert db.session.scalar(db.select(db.func.count()).select_from(PublicRequest)) == 0
