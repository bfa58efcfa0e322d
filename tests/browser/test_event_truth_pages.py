"""The pages of issue 14 in a real browser: the moved event's staff page, the archive's note, the digest page.

Each is checked with axe-core (no serious or critical violation) at desktop width and at 360 px,
where nothing in the page's main part reaches past the screen's edge (tables scroll in their own box). Screenshots go to test-artifacts/screenshots/.
"""
from __future__ import annotations

from datetime import timedelta

from mailer import clock
from mailer.events import mailings, service
from mailer.extensions import db
from mailer.mailings import states
from tests.browser.accessibility import serious_violations
from tests.browser.screens import shot
from tests.every_mail_kind import send_in_process
from tests.factories import create_event, create_subscriber


def _moved_event(app) -> tuple[int, int]:
    with app.app_context():
        create_subscriber("digest@example.org", "events-aarhus", frequency="digest", language="en")
        event = service.get_event(create_event("Workshop om normer", "events-aarhus", venue="Godsbanen",
                                               now=clock.utcnow(), starts_in=timedelta(days=20),
                                               created_at=clock.utcnow() - timedelta(days=1)))
        mailing = mailings.draft_event_mailing(event, None)
        states.send_now(mailing.id)
        send_in_process(mailing.id)
        moved = service.EventData(title_da=event.title_da, starts_at=event.starts_at + timedelta(days=3),
                                  ends_at=event.ends_at + timedelta(days=3), venue_da="Godsbanen", city="Aarhus",
                                  topic_ids=[t.id for t in event.topics])
        mailings.update_event_and_mailings(event, moved)
        db.session.commit()
        return event.id, mailing.id


def test_the_new_pages_are_accessible_and_fit_a_phone(app, browser, live_server):
    base, _ = live_server
    event_id, mailing_id = _moved_event(app)
    page = browser.new_page(viewport={"width": 1200, "height": 900}, locale="en-GB")
    page.goto(base + "/staff/login")
    page.fill("#email", "ida@example.org")
    page.fill("#password", "correct horse battery")
    page.click("button[type=submit]")
    page.wait_for_url("**/staff/")  # logged in (the dashboard) before the next page is asked for

    checks = {
        "14-event-moved": (f"/staff/events/{event_id}/edit", "3 readers have the old time in their calendars."),
        "14-archive-moved": (f"/archive/{mailing_id}", "has since moved"),
        "14-digest-preview": ("/staff/digest/", "1 reader would get a digest."),
    }
    for name, (path, expected) in checks.items():
        for width in (1200, 360):
            page.set_viewport_size({"width": width, "height": 900})
            page.goto(base + path)
            assert expected in page.content(), (path, width)
            assert serious_violations(page) == [], (path, width)
            # What this issue added lives in <main>; the staff header's menu is another issue's (phones).
            wide = page.evaluate("""() => [...document.querySelectorAll('main *')]
                .filter(e => e.getBoundingClientRect().right > window.innerWidth + 1)
                .filter(e => !e.closest('.overflow-auto'))
                .map(e => e.tagName + '.' + e.className + '#' + e.id).slice(0, 8)""")
            assert wide == [], (path, width)
            shot(page, f"{name}-{width}")
