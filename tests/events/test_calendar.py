"""Calendar files and links: they parse with icalendar, carry UTC times, and no markup."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone
from urllib.parse import parse_qs, urlsplit

import pytest
from icalendar import Calendar

from mailer import clock as mailer_clock
from mailer.events import service
from mailer.events.calendar import calendar_links, event_to_ics, feed_ics
from mailer.events.calendar import plain_text
from mailer.events.service import SessionData
from mailer.extensions import db
from mailer.models import Event, EventType
from tests.clock import NOW
from tests.factories import create_event
from tests.helpers import XSS_IMG, XSS_SCRIPT


def vevents(data: bytes) -> list:
    calendar = Calendar.from_ical(data)
    assert str(calendar["VERSION"]) == "2.0" and str(calendar["PRODID"])
    return calendar.walk("VEVENT")


def test_one_event_as_ics(app, clock):
    with app.app_context():
        event = db.session.get(Event, create_event(
            "Workshop: normer & bias", venue="Musikhuset", city="Aarhus", description_markdown="Kom og vær med, **alle** er velkomne.",
        ))
        data = event_to_ics(event)
        uid, event_id = event.uid, event.id
    calendar = Calendar.from_ical(data)
    assert str(calendar["METHOD"]) == "PUBLISH"
    [vevent] = calendar.walk("VEVENT")
    assert str(vevent["UID"]) == uid
    assert int(vevent["SEQUENCE"]) == 0
    assert str(vevent["SUMMARY"]) == "Workshop: normer & bias"
    assert str(vevent["LOCATION"]) == "Musikhuset, Aarhus"
    assert "alle" in str(vevent["DESCRIPTION"])
    assert str(vevent["STATUS"]) == "CONFIRMED"
    assert str(vevent["URL"]) == f"https://news.example.org/events/{event_id}?lang=da"
    assert vevent.decoded("DTSTAMP") == NOW
    assert vevent.decoded("DTSTART") == NOW + timedelta(days=7)
    assert vevent.decoded("DTEND") == NOW + timedelta(days=7, hours=3)


def test_summer_and_winter_times_are_utc(app):
    with app.app_context():
        summer = db.session.get(Event, create_event("Sommer", starts_at=mailer_clock.local_to_utc(datetime(2026, 7, 1, 18, 0)),
                                                  ends_at=mailer_clock.local_to_utc(datetime(2026, 7, 1, 20, 0))))
        winter = db.session.get(Event, create_event("Vinter", starts_at=mailer_clock.local_to_utc(datetime(2026, 12, 1, 18, 0)),
                                                  ends_at=mailer_clock.local_to_utc(datetime(2026, 12, 1, 20, 0))))
        summer_ics, winter_ics = event_to_ics(summer), event_to_ics(winter)
    assert b"DTSTART:20260701T160000Z" in summer_ics and b"DTEND:20260701T180000Z" in summer_ics
    assert b"DTSTART:20261201T170000Z" in winter_ics and b"DTEND:20261201T190000Z" in winter_ics
    [vevent] = vevents(winter_ics)
    assert vevent.decoded("DTSTART") == datetime(2026, 12, 1, 17, 0, tzinfo=timezone.utc)


def test_an_edit_raises_the_sequence_and_a_cancel_says_so(app, clock):
    with app.app_context():
        event = db.session.get(Event, create_event())
        data = service.EventData(title_da="Flyttet", starts_at=event.starts_at + timedelta(days=1), city="Aarhus")
        service.update_event(event, data)
        [updated] = vevents(event_to_ics(event))
        assert int(updated["SEQUENCE"]) == 1 and str(updated["SUMMARY"]) == "Flyttet"
        service.cancel_event(event)
        [published] = vevents(event_to_ics(event))
        assert str(published["STATUS"]) == "CANCELLED" and int(published["SEQUENCE"]) == 2
        cancel = Calendar.from_ical(event_to_ics(event, method="CANCEL"))
        assert str(cancel["METHOD"]) == "CANCEL"
        [vevent] = cancel.walk("VEVENT")
        assert str(vevent["STATUS"]) == "CANCELLED" and str(vevent["UID"]) == event.uid
        assert str(vevent["ORGANIZER"]) == "mailto:news@example.org"
        with pytest.raises(ValueError):
            event_to_ics(event, method="REFRESH")


def test_a_course_has_one_vevent_per_session(app):
    with app.app_context():
        start = datetime(2026, 1, 15, 16, 0, tzinfo=timezone.utc)
        event = service.create_event(service.EventData(
            title_da="Kursus", event_type=EventType.COURSE, starts_at=start, ends_at=start + timedelta(days=7, hours=2),
            is_online=True, online_url="https://example.org/zoom",
            sessions=[SessionData("Kickoff", start, start + timedelta(hours=2)),
                      SessionData("Seminar 1", start + timedelta(days=7), start + timedelta(days=7, hours=2))],
        ))
        db.session.commit()
        expected_uids = [f"{s.id}-{event.uid}" for s in event.sessions]
        components = vevents(event_to_ics(event))
    assert [str(c["UID"]) for c in components] == expected_uids
    assert [str(c["SUMMARY"]) for c in components] == ["Kursus: Kickoff", "Kursus: Seminar 1"]
    assert components[1].decoded("DTSTART") == start + timedelta(days=7)
    assert all(str(c["LOCATION"]) == "https://example.org/zoom" for c in components)


def test_the_feed_holds_what_it_is_given(app, clock):
    with app.app_context():
        create_event("Kommende")
        create_event("Forbi", starts_in=timedelta(days=-30))
        data = feed_ics(service.upcoming_events(), name="Arrangementer")
    calendar = Calendar.from_ical(data)
    assert str(calendar["X-WR-CALNAME"]) == "Arrangementer"
    assert [str(c["SUMMARY"]) for c in calendar.walk("VEVENT")] == ["Kommende"]


def test_no_markup_reaches_the_ics(app):
    with app.app_context():
        event = db.session.get(Event, create_event(
            f"Hej {XSS_SCRIPT}{XSS_IMG}", description_markdown=f"Tekst {XSS_SCRIPT} og {XSS_IMG} og &lt;script&gt;x&lt;/script&gt;",
        ))
        data = event_to_ics(event)
    assert b"<script" not in data.lower() and b"<img" not in data.lower() and b"onerror" not in data
    [vevent] = vevents(data)
    assert str(vevent["SUMMARY"]).startswith("Hej")


@pytest.mark.parametrize(("source", "expected"), [
    ("a < b & c", "a < b & c"),
    ("**fed** tekst", "**fed** tekst"),
    ("<b>fed</b>", "fed"),
    ("&lt;script&gt;alert(1)&lt;/script&gt;", ""),
    ("før <script>alert(1)</script> efter", "før  efter"),
])
def test_plain_text(source, expected):
    assert plain_text(source) == expected


def test_calendar_links(app):
    with app.app_context():
        event = db.session.get(Event, create_event(
            "Netværk & snak", starts_at=datetime(2026, 6, 4, 15, 0, tzinfo=timezone.utc), ends_at=datetime(2026, 6, 4, 18, 0, tzinfo=timezone.utc),
            venue="VEGA", city="København", description_markdown=f"Mød andre {XSS_SCRIPT}",
        ))
        links = calendar_links(event)
    google = parse_qs(urlsplit(links["google"]).query)
    assert links["google"].startswith("https://calendar.google.com/calendar/render?")
    assert google["action"] == ["TEMPLATE"] and google["text"] == ["Netværk & snak"]
    assert google["dates"] == ["20260604T150000Z/20260604T180000Z"]
    assert google["location"] == ["VEGA, København"]
    assert "<script" not in google["details"][0] and "/events/" in google["details"][0]
    outlook = parse_qs(urlsplit(links["outlook"]).query)
    assert links["outlook"].startswith("https://outlook.live.com/calendar/0/deeplink/compose?")
    assert outlook["subject"] == ["Netværk & snak"] and outlook["rru"] == ["addevent"]
    assert outlook["startdt"] == ["2026-06-04T15:00:00Z"] and outlook["enddt"] == ["2026-06-04T18:00:00Z"]
    assert links["office365"].startswith("https://outlook.office.com/")
    assert "+" not in links["outlook"]


@pytest.mark.parametrize("method", ["PUBLISH", "CANCEL"])
def test_every_version_of_the_ics_names_the_organisation_as_organizer(app, method):
    """RFC 5546: the same ORGANIZER on the first PUBLISH, the update and the CANCEL."""
    app.config["ORGANIZER_EMAIL"] = "Kunst & Kultur i Balance <events@example.org>"
    with app.app_context():
        event = db.session.get(Event, create_event())
        first = vevents(event_to_ics(event, method))[0]
        service.update_event(event, service.EventData(title_da="Flyttet", starts_at=event.starts_at + timedelta(days=1)))
        moved = vevents(event_to_ics(event, method))[0]
    for vevent in (first, moved):
        assert str(vevent["ORGANIZER"]) == "mailto:events@example.org"
        assert str(vevent["ORGANIZER"].params["CN"]) == "Kunst & Kultur i Balance"


def test_the_ics_and_calendar_links_speak_the_readers_language_with_fallback(app):
    with app.app_context():
        event = db.session.get(Event, create_event(
            "Netværksmøde", venue="Salen", title_en="Networking evening", venue_en="The hall",
            description_markdown="Mød andre.", description_markdown_en="Meet others.", city="Aarhus"))
        only_danish = db.session.get(Event, create_event("Kun på dansk", description_markdown="Kom."))
        files = {language: vevents(event_to_ics(event, language=language))[0] for language in ("da", "en")}
        links = {language: calendar_links(event, language) for language in ("da", "en")}
        fallback = vevents(event_to_ics(only_danish, language="en"))[0]
        fallback_links = calendar_links(only_danish, "en")
    assert (str(files["da"]["SUMMARY"]), str(files["da"]["LOCATION"])) == ("Netværksmøde", "Salen, Aarhus")
    assert (str(files["en"]["SUMMARY"]), str(files["en"]["LOCATION"])) == ("Networking evening", "The hall, Aarhus")
    assert str(files["en"]["DESCRIPTION"]) == "Meet others." and files["en"]["SUMMARY"].params["LANGUAGE"] == "en"
    assert str(files["en"]["URL"]).endswith("?lang=en")
    for language, title, details in (("da", "Netværksmøde", "Mød andre."), ("en", "Networking evening", "Meet others.")):
        google = parse_qs(urlsplit(links[language]["google"]).query)
        outlook = parse_qs(urlsplit(links[language]["outlook"]).query)
        assert google["text"] == [title] and outlook["subject"] == [title]
        assert google["details"][0].startswith(details) and f"lang={language}" in google["details"][0]
    # No English version: the English reader gets the Danish title, not an empty one.
    assert str(fallback["SUMMARY"]) == "Kun på dansk" and str(fallback["DESCRIPTION"]) == "Kom."
    assert fallback["SUMMARY"].params["LANGUAGE"] == "da"
    assert parse_qs(urlsplit(fallback_links["google"]).query)["text"] == ["Kun på dansk"]
