"""Public events pages and the staff events workspace, driven through HTTP as a browser would."""
from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone

import pytest
from icalendar import Calendar

from mailer import clock as mailer_clock
from mailer.events import service
from mailer.extensions import db
from mailer.models import Event, EventStatus, Topic
from tests.factories import create_event
from tests.helpers import XSS_IMG, XSS_SCRIPT, form_fields
from tests.clock import NOW


def section(html: str, heading_id: str) -> str:
    """The HTML of one <section> of the events page."""
    return html.split(f'id="{heading_id}"', 1)[1].split("</section>", 1)[0]


def titles_in(html: str) -> list[str]:
    return re.findall(r'<a href="/events/\d+" lang="\w\w">([^<]+)</a>', html)


class TestPublicEventsPage:
    def test_previous_events_come_a_page_at_a_time_newest_first_in_both_languages(self, app, client, clock):
        """A long history does not make the events page long: every upcoming event, then pages of past ones."""
        app.config["PREVIOUS_EVENTS_PER_PAGE"] = 2
        with app.app_context():
            create_event("Coming up", starts_in=timedelta(days=10))
            for days in (5, 4, 3, 2, 1):
                create_event(f"{days} weeks ago", starts_in=timedelta(days=-7 * days))
        html = client.get("/events?lang=en").get_data(as_text=True)
        assert titles_in(section(html, "upcoming-heading")) == ["Coming up"]
        assert titles_in(section(html, "previous-heading")) == ["1 weeks ago", "2 weeks ago"]
        assert 'href="/events/previous/2">Earlier events</a>' in html
        second = client.get("/events/previous/2").get_data(as_text=True)
        assert titles_in(second) == ["3 weeks ago", "4 weeks ago"]
        assert 'href="/events/previous/3">Earlier events</a>' in second and ">Newer events</a>" in second
        last = client.get("/events/previous/3?lang=da").get_data(as_text=True)
        assert titles_in(last) == ["5 weeks ago"]
        assert "Ældre arrangementer" not in last and "Nyere arrangementer" in last and "Side 3." in last
        assert client.get("/events/previous/4").status_code == 404
        assert client.get("/events/previous/1").headers["Location"].endswith("/events#previous-heading")
        with app.app_context():  # a newer previous event moves the older ones a page along
            create_event("Just ended", starts_in=timedelta(days=-1))
        assert titles_in(client.get("/events/previous/3").get_data(as_text=True)) == ["4 weeks ago", "5 weeks ago"]

    def test_upcoming_first_then_previous_around_now(self, app, client, clock):
        with app.app_context():
            create_event("Next month", starts_in=timedelta(days=30))
            create_event("Started an hour ago", starts_at=NOW - timedelta(hours=1), ends_at=NOW + timedelta(hours=2))
            create_event("Ends later today", starts_at=NOW + timedelta(hours=4), ends_at=NOW + timedelta(hours=7))
            create_event("Two years ago", starts_in=timedelta(days=-730))
            create_event("Last week", starts_in=timedelta(days=-7))
            cancelled = db.session.get(Event, create_event("Called off", starts_in=timedelta(days=3)))
            service.cancel_event(cancelled)
            db.session.commit()
        html = client.get("/events").get_data(as_text=True)
        assert html.index('id="upcoming-heading"') < html.index('id="previous-heading"')
        upcoming = section(html, "upcoming-heading")
        assert titles_in(upcoming) == ["Started an hour ago", "Ends later today", "Called off", "Next month"]
        assert titles_in(section(html, "previous-heading")) == ["Last week", "Two years ago"]
        called_off = upcoming.split("Called off", 1)[1].split("</article>", 1)[0]
        assert "Cancelled" in called_off
        assert "Monday, May 11, 2026, 13:00–16:00" in upcoming  # Danish time (UTC+2 in May)

    def test_empty_page_and_danish(self, client):
        assert "No events are planned right now" in client.get("/events").get_data(as_text=True)
        assert client.get("/events?lang=da").status_code == 200

    def test_event_page(self, app, client, clock):
        with app.app_context():
            topic_id = db.session.scalar(db.select(Topic.id).filter_by(slug="events-aarhus"))
            event_id = create_event(
                "Workshop i Aarhus", venue="Musikhuset", city="Aarhus", description_markdown="Kom og **vær med**.",
                image_url="https://example.org/foto.jpg", image_alt="Deltagere i en rundkreds", image_credit="Malene Henssel",
                signup_url="https://example.org/tilmeld", topic_ids=[topic_id],
            )
        html = client.get(f"/events/{event_id}").get_data(as_text=True)
        assert "<h1 lang=\"da\">Workshop i Aarhus</h1>" in html
        assert "Musikhuset, Aarhus" in html and "Events in Aarhus" in html
        assert "<strong>vær med</strong>" in html
        assert '<img src="https://example.org/foto.jpg" alt="Deltagere i en rundkreds"' in html
        assert "Photo: Malene Henssel" in html
        assert 'href="https://example.org/tilmeld" role="button"' in html
        assert f'href="/events/{event_id}.ics"' in html
        assert "https://calendar.google.com/calendar/render?action=TEMPLATE" in html
        assert "https://outlook.live.com/calendar/0/deeplink/compose?" in html

    def test_course_sessions_are_listed(self, app, client, clock):
        start = NOW + timedelta(days=10)
        with app.app_context():
            event_id = create_event("Kursus", event_type="course", starts_at=start, ends_at=start + timedelta(days=7, hours=2),
                                  is_online=True, online_url="https://example.org/zoom", city=None,
                                  sessions=[service.SessionData("Kickoff", start, start + timedelta(hours=2)),
                                            service.SessionData("Seminar 1", start + timedelta(days=7), start + timedelta(days=7, hours=2))])
        html = client.get(f"/events/{event_id}").get_data(as_text=True)
        assert "Kickoff" in html and "Seminar 1" in html and "Online" in html
        assert 'href="https://example.org/zoom"' in html

    def test_past_and_cancelled_events_offer_no_signup(self, app, client, clock):
        with app.app_context():
            past = create_event("Forbi", starts_in=timedelta(days=-3), signup_url="https://example.org/tilmeld")
            cancelled = db.session.get(Event, create_event("Aflyst", signup_url="https://example.org/tilmeld"))
            service.cancel_event(cancelled)
            db.session.commit()
            cancelled_id = cancelled.id
        past_html = client.get(f"/events/{past}").get_data(as_text=True)
        assert "This event has taken place." in past_html and "example.org/tilmeld" not in past_html
        cancelled_html = client.get(f"/events/{cancelled_id}").get_data(as_text=True)
        assert "This event is cancelled." in cancelled_html and "example.org/tilmeld" not in cancelled_html

    @pytest.mark.parametrize("path", ["/events/999999", "/events/999999.ics", "/events/abc"])
    def test_unknown_event_is_404(self, client, path):
        assert client.get(path).status_code == 404


class TestCalendarDownloads:
    def test_event_ics(self, app, client, clock):
        with app.app_context():
            event_id = create_event("Workshop", starts_at=mailer_clock.local_to_utc(datetime(2026, 7, 1, 18, 0)),
                                  ends_at=mailer_clock.local_to_utc(datetime(2026, 7, 1, 20, 0)))
        response = client.get(f"/events/{event_id}.ics")
        assert response.status_code == 200
        assert response.headers["Content-Type"] == "text/calendar; charset=utf-8"
        assert response.headers["Content-Disposition"] == f'attachment; filename="event-{event_id}.ics"'
        [vevent] = Calendar.from_ical(response.data).walk("VEVENT")
        assert vevent.decoded("DTSTART") == datetime(2026, 7, 1, 16, 0, tzinfo=timezone.utc)
        assert str(vevent["URL"]) == f"https://news.example.org/events/{event_id}?lang=en"

    def test_feed_has_only_upcoming_events(self, app, client, clock):
        with app.app_context():
            create_event("Kommende", starts_in=timedelta(days=2))
            create_event("I gang", starts_at=NOW - timedelta(hours=1), ends_at=NOW + timedelta(hours=1))
            create_event("Forbi", starts_in=timedelta(days=-2))
        response = client.get("/events.ics")
        assert response.status_code == 200 and response.mimetype == "text/calendar"
        calendar = Calendar.from_ical(response.data)
        assert sorted(str(c["SUMMARY"]) for c in calendar.walk("VEVENT")) == ["I gang", "Kommende"]


class TestNoMarkupFromStaff:
    """A <script> or an <img onerror> typed by staff reaches no page as markup."""

    @pytest.fixture
    def event_id(self, app, clock):
        with app.app_context():
            return create_event(f"Titel {XSS_SCRIPT} {XSS_IMG}", description_markdown=f"Tekst {XSS_SCRIPT}\n\n{XSS_IMG}",
                              venue=f"Sal {XSS_IMG}", image_url="https://example.org/a.jpg", image_alt=f"Alt {XSS_SCRIPT}",
                              image_credit=f"Foto {XSS_IMG}")

    def assert_inert(self, html: str) -> None:
        assert "<script" not in html.lower()
        assert "<img src=x" not in html and "onerror=alert(1)>" not in html and 'onerror="' not in html

    def test_public_pages(self, client, event_id):
        for path in ("/events", f"/events/{event_id}"):
            response = client.get(path)
            assert response.status_code == 200
            self.assert_inert(response.get_data(as_text=True))
        assert "Titel &lt;script&gt;alert(1)&lt;/script&gt;" in client.get("/events").get_data(as_text=True)

    def test_staff_pages(self, editor, event_id):
        for path in ("/staff/events/", f"/staff/events/{event_id}/edit"):
            response = editor.get(path)
            assert response.status_code == 200
            self.assert_inert(response.get_data(as_text=True))

    def test_calendar_files(self, client, event_id):
        for path in (f"/events/{event_id}.ics", "/events.ics"):
            data = client.get(path).data
            assert b"<script" not in data.lower() and b"<img" not in data.lower()


class TestStaffAccess:
    @pytest.mark.parametrize("path", ["/staff/events/", "/staff/events/new", "/staff/events/1/edit"])
    def test_pages_need_login(self, client, path):
        response = client.get(path)
        assert response.status_code == 302 and "/staff/login" in response.headers["Location"]

    @pytest.mark.parametrize("path", ["/staff/events/new", "/staff/events/{id}/edit", "/staff/events/{id}/cancel"])
    def test_posts_need_login(self, app, client, path):
        with app.app_context():
            event_id = create_event()
        # CSRF protection answers an anonymous POST without a token with 400 before the login check,
        # so post with a valid token (from the login page) to reach the login check.
        token = form_fields(client.get("/staff/login").get_data(as_text=True))
        assert client.post(path.format(id=event_id)).status_code == 400
        response = client.post(path.format(id=event_id), data={**token, **event_form(title_da="Anonym")})
        assert response.status_code == 302 and "/staff/login" in response.headers["Location"]
        with app.app_context():
            [event] = db.session.scalars(db.select(Event)).all()
            assert (event.title_da, event.status, event.sequence) == ("Workshop i Aarhus", EventStatus.PLANNED, 0)

    def test_missing_csrf_is_400(self, app, editor):
        with app.app_context():
            event_id = create_event()
        assert editor.post(f"/staff/events/{event_id}/cancel").status_code == 400
        assert editor.post("/staff/events/new", data={"title_da": "Uden token"}).status_code == 400
        with app.app_context():
            assert db.session.get(Event, event_id).status == EventStatus.PLANNED
            assert db.session.scalar(db.select(db.func.count(Event.id))) == 1

    def test_admins_may_edit_events_too(self, admin):
        assert admin.get("/staff/events/new").status_code == 200

    def test_unknown_event_is_404(self, editor):
        assert editor.get("/staff/events/999999/edit").status_code == 404


def event_form(**changes) -> dict[str, object]:
    values: dict[str, object] = {
        "title_da": "Workshop om normer",
        "event_type": "workshop",
        "starts_at": "2026-09-19T13:00",
        "ends_at": "2026-09-19T16:00",
        "venue_da": "Musikhuset",
        "city": "Aarhus",
        "online_url": "",
        "description_da": "Kom og **vær med**.",
        "image_url": "",
        "image_alt": "",
        "image_credit": "",
        "signup_url": "https://example.org/tilmeld",
        "sessions": "",
    }
    values.update(changes)
    return {key: value for key, value in values.items() if value is not None}


def post_event(client, path: str = "/staff/events/new", **changes):
    page = client.get(path).get_data(as_text=True)
    return client.post(path, data={**form_fields(page), **event_form(**changes)})


def only_event(app) -> Event:
    with app.app_context():
        [event] = db.session.scalars(db.select(Event)).all()
        db.session.expunge(event)
        return event


class TestStaffForm:
    def test_create_edit_and_cancel(self, app, editor, clock):
        with app.app_context():
            topic_id = db.session.scalar(db.select(Topic.id).filter_by(slug="events-aarhus"))
        response = post_event(editor, topics=[str(topic_id)])
        assert response.status_code == 303
        with app.app_context():
            event = db.session.scalars(db.select(Event)).one()
            assert (event.title_da, event.sequence, event.status) == ("Workshop om normer", 0, EventStatus.PLANNED)
            assert event.starts_at == datetime(2026, 9, 19, 11, 0, tzinfo=timezone.utc)  # 13:00 Danish summer time
            assert [t.id for t in event.topics] == [topic_id]
            event_id, uid = event.id, event.uid
        assert response.headers["Location"].endswith(f"/staff/events/{event_id}/edit")

        edit_page = editor.get(f"/staff/events/{event_id}/edit").get_data(as_text=True)
        assert 'value="2026-09-19T13:00"' in edit_page and "Workshop om normer" in edit_page
        response = post_event(editor, f"/staff/events/{event_id}/edit", title_da="Workshop om normer (ny dato)",
                              starts_at="2026-11-19T13:00", ends_at="2026-11-19T16:00")
        assert response.status_code == 303
        with app.app_context():
            event = db.session.get(Event, event_id)
            assert (event.title_da, event.sequence, event.uid) == ("Workshop om normer (ny dato)", 1, uid)
            assert event.starts_at == datetime(2026, 11, 19, 12, 0, tzinfo=timezone.utc)  # winter time
        assert "The event is saved." in editor.get(f"/staff/events/{event_id}/edit").get_data(as_text=True)

        listing = editor.get("/staff/events/").get_data(as_text=True)
        assert "Workshop om normer (ny dato)" in listing
        response = editor.post(f"/staff/events/{event_id}/cancel", data=form_fields(listing))
        assert response.status_code == 303
        with app.app_context():
            event = db.session.get(Event, event_id)
            assert (event.status, event.sequence) == (EventStatus.CANCELLED, 2)
        assert "Cancelled" in editor.get("/events").get_data(as_text=True)
        [vevent] = Calendar.from_ical(editor.get(f"/events/{event_id}.ics").data).walk("VEVENT")
        assert str(vevent["STATUS"]) == "CANCELLED" and int(vevent["SEQUENCE"]) == 2

    def test_a_course_with_sessions(self, app, editor):
        response = post_event(editor, event_type="course", venue_da="", city="", online_url="https://example.org/zoom",
                              is_online="y", starts_at="2026-10-01T16:00", ends_at="2026-10-29T18:00",
                              sessions="2026-10-01 16:00–18:00 Kickoff\r\n\r\n2026-10-29 16:00-18:00 Seminar 1\r\n")
        assert response.status_code == 303
        event = only_event(app)
        with app.app_context():
            event = db.session.get(Event, event.id)
            assert [(s.title_da, s.starts_at) for s in event.sessions] == [
                ("Kickoff", datetime(2026, 10, 1, 14, 0, tzinfo=timezone.utc)),
                ("Seminar 1", datetime(2026, 10, 29, 15, 0, tzinfo=timezone.utc)),  # after the clocks went back
            ]
            assert event.is_online and event.online_url == "https://example.org/zoom"
        page = editor.get(f"/staff/events/{event.id}/edit").get_data(as_text=True)
        assert "2026-10-01 16:00–18:00 Kickoff\n2026-10-29 16:00–18:00 Seminar 1" in page

    def test_an_ambiguous_time_means_the_first_occurrence(self, app, editor):
        assert post_event(editor, starts_at="2026-10-25T02:30", ends_at="2026-10-25T04:00").status_code == 303
        assert only_event(app).starts_at == datetime(2026, 10, 25, 0, 30, tzinfo=timezone.utc)

    BAD_INPUT = [
        ({"starts_at": "2026-03-29T02:30", "ends_at": "2026-03-29T05:00"}, "This time does not exist in Danish time"),
        ({"starts_at": "next tuesday"}, "Please enter a date and time, such as"),
        ({"starts_at": ""}, "Please enter a date and time."),
        ({"ends_at": "2026-09-19T12:00"}, "The end must be after the start."),
        ({"title_da": ""}, "Please give the event a title, in Danish or in English."),
        ({"title_da": "Workshop\r\nBcc: x@example.org"}, "Line breaks and control characters are not allowed here."),
        ({"title_en": "x" * 201}, "Please keep the title under 200 characters."),
        ({"event_type": "party"}, "Not a valid choice"),
        ({"signup_url": "javascript:alert(1)"}, "Please enter a full web address starting with https://."),
        ({"image_url": "https://example.org/a.jpg"}, "Please describe the image for people who cannot see it."),
        ({"venue_da": "", "city": ""}, "Please give a venue or a city, or mark the event as online."),
        ({"is_online": "y"}, "Please give the link people use to join."),
        ({"topics": ["999999"]}, "valid choice"),
        ({"sessions": "2026-09-19 13:00–16:00 Kickoff"}, "Only courses have sessions."),
        ({"event_type": "course", "sessions": "19/9 kl. 13 Kickoff"}, "Line 1: write it as YYYY-MM-DD HH:MM–HH:MM Title."),
        ({"event_type": "course", "sessions": "2026-09-19 13:00–16:00 A\n2026-09-19 16:00–13:00 B"}, "Line 2: the end time must be after the start time."),
        ({"event_type": "course", "sessions": "2026-02-30 13:00–16:00 A"}, "Line 1: that date or time does not exist."),
        ({"event_type": "course", "sessions": "2026-03-29 02:15–04:00 A"}, "Line 1: that time does not exist in Danish time"),
    ]

    def test_bad_input_shows_the_form_again_with_400(self, app, editor, subtests):
        # Subtests rather than parametrize: one login serves every case, which keeps the suite quick.
        for changes, message in self.BAD_INPUT:
            with subtests.test(msg=message, changes=changes):
                response = post_event(editor, **changes)
                assert response.status_code == 400
                html = response.get_data(as_text=True)
                assert message in html
                assert "Please correct the fields marked below." in html
        with app.app_context():
            assert db.session.scalar(db.select(db.func.count(Event.id))) == 0

    def test_odd_input_is_never_a_500(self, app, editor, subtests):
        odd = [
            {"topics": ["abc"]}, {"venue_en": "Sal\x00"}, {"signup_url": "https://example.org/\x00"},
            {"image_url": "https://example.org/a.jpg", "image_alt": "Alt\x00"}, {"description_en": "x" * 20001},
            {"event_type": "course", "sessions": "2026-09-19 13:00–16:00 A\x00"}, {"starts_at": "2026-13-45T99:99"},
            {"starts_at": "\x00"}, {"title_da": "", "title_en": " "}, {"event_type": ""},
        ]
        for changes in odd:
            with subtests.test(changes=changes):
                assert post_event(editor, **changes).status_code == 400
        with app.app_context():
            assert db.session.scalar(db.select(db.func.count(Event.id))) == 0
        # A NUL in the description is dropped, not refused: nothing else of the text is lost.
        assert post_event(editor, description_da="Kom\x00 og vær med").status_code == 303
        assert only_event(app).description_markdown_da == "Kom og vær med"

    def test_bad_edit_keeps_the_event(self, app, editor):
        with app.app_context():
            event_id = create_event("Uændret")
        response = post_event(editor, f"/staff/events/{event_id}/edit", title_da="Ny", ends_at="2026-09-19T12:00")
        assert response.status_code == 400
        with app.app_context():
            event = db.session.get(Event, event_id)
            assert (event.title_da, event.sequence) == ("Uændret", 0)


def test_public_pages_show_the_visitors_language_with_fallback(app, client, clock):
    with app.app_context():
        both = create_event("Netværksmøde", title_en="Networking evening", venue="Salen", venue_en="The hall",
                            description_markdown="Mød **andre**.", description_markdown_en="Meet **others**.")
        danish_only = create_event("Kun på dansk", starts_in=timedelta(days=9))
    english = client.get(f"/events/{both}?lang=en").get_data(as_text=True)
    assert "Networking evening" in english and "The hall" in english and "Meet <strong>others</strong>" in english
    assert "Netværksmøde" not in english and "Salen" not in english
    danish = client.get(f"/events/{both}?lang=da").get_data(as_text=True)
    assert "Netværksmøde" in danish and "Mød <strong>andre</strong>" in danish and "Networking evening" not in danish
    listing = client.get("/events?lang=en").get_data(as_text=True)
    assert "Networking evening" in listing
    # No English version: the Danish title is shown, marked as Danish for screen readers.
    assert f'<a href="/events/{danish_only}" lang="da">Kun på dansk</a>' in listing
