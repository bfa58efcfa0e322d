"""Every page, public and staff, in Danish and English: no sideways scroll on a phone, no serious axe finding.

The pages come from the app's URL map, so a new page is covered without touching this file: a GET
route without parameters is opened as it is; a route with parameters is opened with the objects
`site` creates (ROUTE_VALUES). A GET route that is neither buildable nor in the commented EXCLUDED
list fails the test that names it; POST-only routes are actions, whose answers are the pages in
AFTER_FORMS (a confirmation, a form with errors, an import report …). Public pages are opened
logged out, staff pages as an admin; the language is the header's switch, kept in the session.
One Chromium and one live server serve the whole module.
"""
from __future__ import annotations

import itertools
import os
import tempfile
from datetime import timedelta
from unittest import mock

import pytest
from sqlalchemy import select

from mailer import create_app
from mailer.extensions import db
from mailer.mail.transports import OutboxTransport, list_outbox
from mailer.models import (
    BounceEvent,
    Delivery,
    DeliveryStatus,
    Mailing,
    MailingStatus,
    StaffUser,
    Subscriber,
)
from mailer.models.types import utcnow
from mailer.tokens import TokenPurpose
from tests.app_setup import dispose_app, make_app
from tests.browser.accessibility import serious_violations
from tests.browser.conftest import chromium, serving
from tests.factories import create_event, create_mailing, create_subscriber, create_subscriber_tokens

PHONE = {"width": 360, "height": 740}
DESKTOP = {"width": 1280, "height": 900}
LANGUAGES = ("da", "en")
BROWSER_LOCALES = {"da": "da-DK", "en": "en-GB"}
STAFF_PASSWORD = "correct horse battery"  # the admin tests/browser/conftest.py creates

# GET routes that are no page a person reads, each with why.
EXCLUDED = {
    "static": "the CSS, scripts and icons the pages load",
    "site_icon.favicon": "an icon, not a page",
    "health.healthz": "JSON for the load balancer",
    "events.feed": "an iCalendar download",
    "events.event_ics": "an iCalendar download",
    "staff_sending.progress_json": "JSON for scripts",
    "staff_sending.progress_fragment": "the htmx fragment inside staff_sending.mailing, which is tested whole",
    "staff_subscribers.export_csv": "a CSV download",
    "staff_subscribers.export_json": "a GDPR JSON download",
    "staff_results.results_export": "a CSV download",
    "public.click": "a counted link: a redirect to the address it counts",
    "embed.token": "JSON: the form token the embedded signup form fetches",
    "api-docs.openapi_json": "the API's OpenAPI document (JSON); its reference page is tested",
}
# Whole blueprints that are no pages: the JSON API (bearer keys; tests/api and Schemathesis cover it).
EXCLUDED_BLUEPRINTS = {"api_subscribers", "api_topics", "api_events", "api_mailings"}

# The values a route with parameters is opened with: variant name -> {parameter: key of `site`'s objects}.
ROUTE_VALUES = {
    "archive.item": {"sent": {"mailing_id": "sent_mailing"}},
    "events.event": {"upcoming": {"event_id": "event"}, "cancelled": {"event_id": "cancelled_event"},
                     "past": {"event_id": "past_event"}},
    "events.previous": {"second": {"page": "previous_page"}},
    "public.confirm": {"pending": {"token": "confirm_token"}},
    "public.manage": {"confirmed": {"token": "manage_token"}},
    "public.unsubscribe": {"confirmed": {"token": "unsubscribe_token"}},
    "public.one_click": {"opened-in-browser": {"token": "unsubscribe_token"}},
    "staff_events.edit": {"upcoming": {"event_id": "event"}, "cancelled": {"event_id": "cancelled_event"}},
    "staff_mailings.edit": {"draft": {"mailing_id": "draft_mailing"}},
    "staff_mailings.preview_page": {"draft": {"mailing_id": "draft_mailing"}},
    "staff_sending.mailing": {"sent": {"mailing_id": "sent_mailing"}, "sending": {"mailing_id": "sending_mailing"}},
    "staff_subscribers.detail": {"bounced": {"subscriber_id": "subscriber"}},
    "staff_templates.edit": {"custom": {"template_id": "template"}},
    "staff.outbox_message": {"test-mail": {"name": "outbox_name"}},
    "staff_results.results": {"sent": {"mailing_id": "sent_mailing"}},
    "staff_topics.edit": {"public": {"topic_id": "topic"}},
    "staff_webhooks.detail": {"registered": {"endpoint_id": "webhook"}},
}

# Pages no GET route shows by itself: name -> (path, the status they answer with).
EXTRA_PAGES = {
    "invalid-link": ("/manage/not-a-token", 400),
    "not-found": ("/no-such-page", 404),
}
FRESH_ADDRESSES = (f"person{n}@example.org" for n in itertools.count())


def _submit(page, selector: str) -> int:
    """Press a form's button; return the status of the page it leads to."""
    with page.expect_navigation() as navigation:
        page.click(selector)
    return navigation.value.status


def _fresh_tokens(app, *, confirmed: bool) -> dict:
    with app.app_context():
        tokens = create_subscriber_tokens(next(FRESH_ADDRESSES), confirmed=confirmed, language="da",
                                          topic_slug="events-aarhus")
        db.session.remove()
        return tokens


def _signup_with_errors(page, base, app, objects):
    page.goto(base + "/subscribe")
    page.fill("#email", "not an address")
    return _submit(page, "main form button[type=submit]")


def _confirmed(page, base, app, objects):
    page.goto(base + "/confirm/" + _fresh_tokens(app, confirmed=False)[TokenPurpose.CONFIRM])
    return _submit(page, "main form button[type=submit]")


def _unsubscribed(page, base, app, objects):
    page.goto(base + "/unsubscribe/" + _fresh_tokens(app, confirmed=True)[TokenPurpose.UNSUBSCRIBE])
    return _submit(page, "main form button[type=submit]")


def _choices_saved(page, base, app, objects):
    page.goto(base + "/manage/" + objects["manage_token"])
    return _submit(page, "main form[method=post]:not([action]) button[type=submit]")


def _import_report(page, base, app, objects):
    page.goto(base + "/staff/subscribers/import")
    page.set_input_files("#file", files=[{"name": "import.csv", "mimeType": "text/csv", "buffer": (
        "email,name,language,topics\nny.deltager@example.org,Ny Deltager,da,events-aarhus\n"
        "ikke-en-adresse,,da,events-aarhus\n").encode()}])
    return _submit(page, "main form button[type=submit]")


def _mailing_form_with_errors(page, base, app, objects):
    page.goto(base + "/staff/mailings/new")
    return _submit(page, "main form button[type=submit]")


def _preview_as_subscriber(page, base, app, objects):
    return page.goto(f"{base}/staff/mailings/{objects['draft_mailing']}/preview?subscriber={objects['subscriber']}").status


# Pages shown after a form is sent: name -> (who sends it, how, the status the page answers with,
# what shows that it is that page).
AFTER_FORMS = {
    "signup-with-errors": ("public", _signup_with_errors, 400, "#email[aria-invalid=true]"),
    "confirmed": ("public", _confirmed, 200, "main article:not(:has(form))"),
    "unsubscribed": ("public", _unsubscribed, 200, "main article:not(:has(form))"),
    "choices-saved": ("public", _choices_saved, 200, "main .flash-success"),
    "staff-import-report": ("admin", _import_report, 200, "#import-report .import-bad-rows"),
    "staff-mailing-form-with-errors": ("admin", _mailing_form_with_errors, 400, "main [aria-invalid=true]"),
    "staff-preview-as-subscriber": ("admin", _preview_as_subscriber, 200, "main iframe"),
}


def _rules() -> list:
    """The app's routes. Only the URL map is read; the instance folder (key file, broker) is a temporary one."""
    with tempfile.TemporaryDirectory() as instance, mock.patch.dict(os.environ, {"MAILER_INSTANCE_PATH": instance}):
        app = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": "sqlite://"})
    return sorted(app.url_map.iter_rules(), key=lambda r: r.rule)


RULES = _rules()


def _pages() -> list[tuple[str, str, dict]]:
    """(test id, endpoint, values) for every page; values is None for a route this module cannot open."""
    pages = []
    for rule in RULES:
        if ("GET" not in rule.methods or rule.endpoint in EXCLUDED
                or rule.endpoint.split(".")[0] in EXCLUDED_BLUEPRINTS):
            continue
        if not rule.arguments:
            pages.append((rule.endpoint, rule.endpoint, {}))
        elif rule.endpoint not in ROUTE_VALUES:
            pages.append((rule.endpoint, rule.endpoint, None))
        else:
            for variant, values in ROUTE_VALUES[rule.endpoint].items():
                pages.append((f"{rule.endpoint}:{variant}", rule.endpoint, values))
    pages.extend((name, name, {"path": path, "status": status}) for name, (path, status) in EXTRA_PAGES.items())
    pages.extend((name, name, {"after_form": name}) for name in AFTER_FORMS)
    return pages


PAGES = _pages()


def test_the_lists_of_routes_name_routes_that_exist():
    endpoints = {rule.endpoint for rule in RULES}
    assert set(EXCLUDED) - endpoints == set()
    assert set(ROUTE_VALUES) - endpoints == set()


@pytest.fixture(scope="module")
def site(database_url, instance_dir, tmp_path_factory):
    """One app with one of each thing a page shows, served on loopback; yields (base_url, objects, app)."""
    app = make_app(database_url, tmp_path_factory.mktemp("outbox"))
    app.config["PREVIOUS_EVENTS_PER_PAGE"] = 1
    with serving(app) as (base, _smtp):
        with app.app_context():
            objects = _objects(app)
            db.session.remove()
        yield base, objects, app
    dispose_app(app)


def _objects(app) -> dict:
    """The events, mailings, subscriber, template and outbox mail the parameterised pages are opened with."""
    now = utcnow()  # the live server runs on the real clock, not the tests' frozen one
    objects = {
        "event": create_event("Workshop: normer og privilegier", "events-aarhus", starts_in=timedelta(days=30),
                              venue="Godsbanen, Skovgaardsgade 3", signup_url="https://example.org/tilmeld", now=now),
        "past_event": create_event("Netværksmøde i Aarhus", "events-aarhus", starts_in=timedelta(days=-40), now=now),
        "older_event": create_event("Værksted i Odense", "events-aarhus", starts_in=timedelta(days=-80), now=now),
        "previous_page": 2,  # with one previous event a page (below), the older one is on page 2
        "cancelled_event": create_event("Paneldebat om kunst og inklusion", "events-aarhus",
                                        starts_in=timedelta(days=12), now=now),
    }
    from mailer.events.service import cancel_event
    from mailer.models import Event

    cancel_event(db.session.get(Event, objects["cancelled_event"]))
    db.session.commit()
    objects["draft_mailing"] = create_mailing("events-aarhus")
    objects["sent_mailing"] = create_mailing("events-aarhus", subject="Nyt fra Kunst & Kultur i Balance",
                                             status=MailingStatus.SENT)
    objects["sending_mailing"] = create_mailing("events-aarhus", subject="Workshop i Aarhus: sidste pladser",
                                                status=MailingStatus.SENDING)
    readers = list(db.session.scalars(select(Subscriber.id).where(Subscriber.email.like("aarhus%"))))
    now = utcnow()
    sent = db.session.get(Mailing, objects["sent_mailing"])
    sent.started_at, sent.finished_at = now - timedelta(hours=2), now - timedelta(hours=1)
    sending = db.session.get(Mailing, objects["sending_mailing"])
    sending.started_at = now - timedelta(minutes=5)
    statuses = [DeliveryStatus.SENT, DeliveryStatus.BOUNCED, DeliveryStatus.FAILED]
    for reader, status in zip(readers, statuses):
        db.session.add(Delivery(mailing_id=sent.id, subscriber_id=reader, status=status, attempts=1,
                                sent_at=now - timedelta(hours=1) if status == DeliveryStatus.SENT else None,
                                last_error=None if status == DeliveryStatus.SENT else "550 5.1.1 mailbox unknown"))
        db.session.add(Delivery(mailing_id=sending.id, subscriber_id=reader,
                                status=DeliveryStatus.SENT if status == DeliveryStatus.SENT else DeliveryStatus.PENDING))
    objects["subscriber"] = readers[1]
    db.session.add(BounceEvent(subscriber_id=readers[1], kind="hard", mailing_id=sent.id,
                               reason="550 5.1.1 <aarhus1@example.org>: Recipient address rejected: User unknown"))
    tokens = create_subscriber_tokens("ny.laeser@example.org", confirmed=False, language="da")
    objects["confirm_token"] = tokens[TokenPurpose.CONFIRM]
    create_subscriber("anna.berg@example.org", "events-aarhus", "newsletter", language="en", name="Anna Berg")
    tokens = create_subscriber_tokens("mette@example.org", confirmed=True, language="da", topic_slug="events-aarhus")
    objects["manage_token"] = tokens[TokenPurpose.MANAGE]
    objects["unsubscribe_token"] = tokens[TokenPurpose.UNSUBSCRIBE]
    from mailer.mailings.templates_store import create_template

    admin_id = db.session.scalar(select(StaffUser.id))
    objects["template"] = create_template(
        "Efterårsnyhedsbrev",
        '<html lang="{{ language }}"><body><h1>{{ subject }}</h1><p>{{ greeting }}</p>{{ body_html }}'
        '<p><a href="{{ unsubscribe_url }}">Afmeld</a></p></body></html>',
        "{{ greeting }}\n\n{{ body_text }}\n\nAfmeld: {{ unsubscribe_url }}\n", admin_id).id
    db.session.commit()
    from mailer.mailings.preview import send_test

    folder = app.config["OUTBOX_FOLDER"]
    send_test(objects["draft_mailing"], ["ida@example.org"], transport=OutboxTransport(folder))
    objects["outbox_name"] = list_outbox(folder)[0].name
    from mailer.models import Topic
    from mailer.models.outbound_webhook import WebhookEndpoint

    objects["topic"] = db.session.scalar(select(Topic.id).filter_by(slug="events-aarhus"))
    webhook = WebhookEndpoint(url="https://crm.example.org/hooks/mailer", description="CRM",
                              events="subscriber.confirmed subscriber.unsubscribed", secret="0" * 64)
    db.session.add(webhook)
    db.session.commit()
    objects["webhook"] = webhook.id
    return objects


@pytest.fixture(scope="module")
def tabs(site):
    """One logged-out and one logged-in (admin) browser tab per language, each set to its language."""
    base = site[0]
    with chromium() as browser:
        opened = {}
        for language in LANGUAGES:
            for role in ("public", "admin"):
                context = browser.new_context(locale=BROWSER_LOCALES[language], viewport=DESKTOP)
                page = context.new_page()
                page.goto(f"{base}/subscribe?lang={language}")  # the header's language switch, kept in the session
                if role == "admin":
                    page.goto(base + "/staff/login")
                    page.fill("#email", "ida@example.org")
                    page.fill("#password", STAFF_PASSWORD)
                    page.click("main button[type=submit]")
                    page.wait_for_url("**/staff/")  # login lands on the dashboard
                opened[language, role] = page
        yield opened


def _open(site, tabs, endpoint: str, values: dict | None, language: str, viewport: dict):
    """Open the page in the right tab at the viewport's size; return the Playwright page."""
    base, objects, app = site
    if values is None:
        pytest.fail(f"{endpoint} takes parameters this test cannot build: add it to ROUTE_VALUES "
                    f"(with an object `site` creates) or, with a reason, to EXCLUDED")
    if "after_form" in values:
        role, submit, expected, marker = AFTER_FORMS[values["after_form"]]
        page = tabs[language, role]
        page.set_viewport_size(viewport)
        status = submit(page, base, app, objects)
        assert status == expected, f"{endpoint}: {page.url} answered {status}"
        assert page.locator(marker).count() > 0, f"{endpoint}: {page.url} does not show {marker}"
        assert page.evaluate("document.documentElement.lang") == language, f"{page.url} is not in {language}"
        return page
    expected = values.get("status", 200)
    if "path" in values:
        url, staff = values["path"], False
    else:
        with app.test_request_context():
            from flask import url_for

            url = url_for(endpoint, **{name: objects[key] for name, key in values.items()})
        staff = url.startswith("/staff/") and endpoint != "staff.login"
    page = tabs[language, "admin" if staff else "public"]
    page.set_viewport_size(viewport)
    response = page.goto(base + url)
    assert response.status == expected, f"{url} answered {response.status}"
    assert page.evaluate("document.documentElement.lang") == language, f"{url} is not in {language}"
    return page


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize(("endpoint", "values"), [p[1:] for p in PAGES], ids=[p[0] for p in PAGES])
def test_page_fits_a_phone_without_sideways_scroll(site, tabs, endpoint, values, language):
    page = _open(site, tabs, endpoint, values, language, PHONE)
    width = page.evaluate("document.documentElement.scrollWidth")
    wide = page.evaluate("""() => [...document.querySelectorAll('body *')]
        .filter(e => e.getBoundingClientRect().right > window.innerWidth + 1 && !e.closest('.overflow-auto'))
        .slice(0, 5).map(e => e.tagName.toLowerCase() + (e.className ? '.' + e.className : '')
                        + ' ' + Math.round(e.getBoundingClientRect().right) + 'px')""")
    assert width <= PHONE["width"], f"{page.url} is {width}px wide at {PHONE['width']}px; too wide: {wide}"


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize(("endpoint", "values"), [p[1:] for p in PAGES], ids=[p[0] for p in PAGES])
def test_page_has_no_serious_accessibility_violation(site, tabs, endpoint, values, language):
    # On a phone, where wide tables scroll (scrollable-region-focusable), and on a desktop screen.
    page = _open(site, tabs, endpoint, values, language, PHONE)
    found = serious_violations(page)
    page.set_viewport_size(DESKTOP)
    found += serious_violations(page)
    assert not found, "\n".join(found)


@pytest.mark.parametrize("language", LANGUAGES)
def test_staff_header_keeps_the_organisation_name_on_one_line(site, tabs, language):
    page = _open(site, tabs, "staff_mailings.index", {}, language, DESKTOP)
    name = page.locator("header nav strong").first
    line_height = float(page.evaluate("e => parseFloat(getComputedStyle(e).lineHeight)", name.element_handle()))
    assert name.bounding_box()["height"] < 1.5 * line_height, "the organisation's name breaks over lines"


@pytest.mark.parametrize("endpoint", ["staff_sending.mailing", "staff_subscribers.detail"])
def test_a_wide_table_on_a_phone_is_reached_and_scrolled_with_the_keyboard(site, tabs, endpoint):
    values = next(values for _, name, values in PAGES if name == endpoint)
    page = _open(site, tabs, endpoint, values, "en", PHONE)
    wide = "[...document.querySelectorAll('.overflow-auto')].filter(e => e.scrollWidth > e.clientWidth)"
    assert page.evaluate(f"{wide}.length") > 0, "no table is wider than the phone: nothing to scroll"
    page.evaluate("document.activeElement && document.activeElement.blur()")
    for _ in range(60):
        page.keyboard.press("Tab")
        if page.evaluate(f"{wide}.includes(document.activeElement)"):
            break
    else:
        pytest.fail("Tab never reaches the table that scrolls sideways")
    assert page.evaluate("document.activeElement.getAttribute('aria-label')"), "the scrolling box has no name"
    page.keyboard.press("ArrowRight")
    page.keyboard.press("ArrowRight")
    page.wait_for_function("() => document.activeElement.scrollLeft > 0")  # a function: a string would be eval()ed, which the CSP refuses
