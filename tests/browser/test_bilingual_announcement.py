"""An event written in Danish and English, announced in both, reaches each reader wholly in their own language.

Playwright drives Debian's Chromium: staff write the event in both languages, press
"Announce this event", check both versions (with their live previews) and send. The queued
tasks run as a worker would (run_tasks), and both mails are parsed from the real SMTP server.
"""
from __future__ import annotations

import re
from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

from icalendar import Calendar

from mailer.extensions import db
from mailer.models import Mailing, MailingStatus
from mailer.models.types import utcnow
from tests.browser.screens import shot
from tests.factories import create_subscriber
from tests.helpers import parse_mail

TITLE_DA = "Workshop om normer og privilegier"
TITLE_EN = "Workshop on norms and privilege"
ABOUT_DA = "Vi taler om **normer**, bias og privilegier."
ABOUT_EN = "We talk about **norms**, bias and privilege."


def _mail_to(messages, address: str):
    [data] = [data for _, recipients, data in messages if recipients == [address]]
    return parse_mail(data)


def _calendar_link_titles(text: str) -> tuple[str, str]:
    """The event title in the Google and the Outlook link of a text part."""
    google = re.search(r"https://calendar\.google\.com/\S+", text).group(0)
    outlook = re.search(r"https://outlook\.live\.com/\S+", text).group(0)
    return parse_qs(urlsplit(google).query)["text"][0], parse_qs(urlsplit(outlook).query)["subject"][0]


def _ics_summary(message) -> str:
    [attachment] = [part for part in message.walk() if part.get_content_type() == "text/calendar"]
    [vevent] = Calendar.from_ical(attachment.get_payload(decode=True)).walk("VEVENT")
    return str(vevent["SUMMARY"])


def test_an_event_announced_in_both_languages_reaches_each_reader_in_theirs(app, browser, live_server, run_tasks):
    base, smtp = live_server
    with app.app_context():
        create_subscriber("jane@example.org", "events-aarhus", language="en", name="Jane")
        create_subscriber("mette@example.org", "events-aarhus", language="da", name="Mette")
    page = browser.new_page(viewport={"width": 1280, "height": 900}, locale="en-GB")
    page.goto(base + "/staff/login")
    page.fill("#email", "ida@example.org")
    page.fill("#password", "correct horse battery")
    page.click("button[type=submit]")
    page.wait_for_url("**/staff/")  # logged in before the next page is asked for

    # The event, in both languages.
    page.goto(base + "/staff/events/new")
    day = (utcnow() + timedelta(days=30)).strftime("%Y-%m-%d")
    page.fill("#title_da", TITLE_DA)
    page.fill("#title_en", TITLE_EN)
    page.fill("#venue_da", "Godsbanens store sal")
    page.fill("#venue_en", "The big hall at Godsbanen")
    page.fill("#description_da", ABOUT_DA)
    page.fill("#description_en", ABOUT_EN)
    page.select_option("#event_type", "workshop")
    page.fill("#starts_at", f"{day}T13:00")
    page.fill("#ends_at", f"{day}T17:00")
    page.fill("#city", "Aarhus")
    page.check("text=Events in Aarhus")
    page.click("main form button[type=submit]")
    assert "The event is saved." in page.content()

    # Announce it: both versions are filled in from the event's two languages.
    page.click("button:has-text('Announce this event')")
    assert "/edit" in page.url
    assert page.input_value("#subject_da").startswith(TITLE_DA)
    assert page.input_value("#subject_en").startswith(TITLE_EN)
    assert "normer" in page.input_value("#body_markdown_da")
    assert "norms" in page.input_value("#body_markdown_en")
    assert page.input_value("#audience_language") == "None"  # everyone, each in their own language
    # Each version has its live preview, and it follows what staff type.
    page.locator("#preview-en .preview-subject").wait_for()
    assert TITLE_EN in page.locator("#preview-en .preview-subject").inner_text()
    assert TITLE_DA in page.locator("#preview-da .preview-subject").inner_text()
    page.fill("#body_markdown_en", page.input_value("#body_markdown_en") + "\n\nBring a friend!")
    preview_en = page.frame_locator("#preview-en iframe")
    preview_en.locator("text=Bring a friend!").wait_for()
    shot(page, "10-bilingual-editor")
    page.click("main form button[type=submit]")
    assert "/preview" in page.url

    # Send it now, and let a worker run the queued tasks.
    page.click("button:has-text('Send now')")
    run_tasks()
    messages = smtp.wait_for(lambda got: len(got) >= 5)  # three Danish readers from the fixture, Mette, Jane
    with app.app_context():
        mailing = db.session.scalar(db.select(Mailing))
        assert mailing.status == MailingStatus.SENT

    danish, english = _mail_to(messages, "mette@example.org"), _mail_to(messages, "jane@example.org")
    assert danish["Subject"].startswith(TITLE_DA) and english["Subject"].startswith(TITLE_EN)
    danish_text = danish.get_body(("plain",)).get_content()
    english_text = english.get_body(("plain",)).get_content()
    danish_html = danish.get_body(("html",)).get_content()
    english_html = english.get_body(("html",)).get_content()

    # The Danish reader: Danish greeting, text, event card, footer and calendar entries.
    assert "Hej Mette" in danish_text and "Vi vil gerne invitere dig til" in danish_text
    assert "Godsbanens store sal" in danish_text and "Bring a friend!" not in danish_text
    assert "Afmeld" in danish_text and "Unsubscribe" not in danish_text
    assert '<html lang="da">' in danish_html and TITLE_EN not in danish_html
    assert _calendar_link_titles(danish_text) == (TITLE_DA, TITLE_DA)
    assert _ics_summary(danish) == TITLE_DA

    # The English reader: all of it in English.
    assert "Hello Jane" in english_text and "We would like to invite you to" in english_text
    assert "The big hall at Godsbanen" in english_text and "Bring a friend!" in english_text
    assert "Unsubscribe" in english_text and "Afmeld" not in english_text
    assert '<html lang="en">' in english_html and TITLE_DA not in english_html and "normer" not in english_html
    assert _calendar_link_titles(english_text) == (TITLE_EN, TITLE_EN)
    assert _ics_summary(english) == TITLE_EN
