"""The events service: Copenhagen time and DST, upcoming vs previous around a fixed "now", edits and cancels."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from mailer import clock as mailer_clock
from mailer.events import service
from mailer.clock import NonExistentLocalTime
from mailer.events.service import EventData, EventValidationError, SessionData
from mailer.extensions import db
from mailer.models import Event, EventStatus, EventType, Topic
from tests.clock import NOW
from tests.factories import create_event


class TestCopenhagenTime:
    def test_summer_and_winter_times(self):
        assert mailer_clock.local_to_utc(datetime(2026, 7, 1, 18, 0)) == datetime(2026, 7, 1, 16, 0, tzinfo=timezone.utc)
        assert mailer_clock.local_to_utc(datetime(2026, 12, 1, 18, 0)) == datetime(2026, 12, 1, 17, 0, tzinfo=timezone.utc)

    def test_a_time_skipped_by_spring_forward_is_refused(self):
        with pytest.raises(NonExistentLocalTime) as caught:
            mailer_clock.local_to_utc(datetime(2026, 3, 29, 2, 30))
        assert "2026-03-29 02:30 does not exist in Danish time" in str(caught.value)
        # The minutes either side of the gap are fine.
        assert mailer_clock.local_to_utc(datetime(2026, 3, 29, 1, 59)) == datetime(2026, 3, 29, 0, 59, tzinfo=timezone.utc)
        assert mailer_clock.local_to_utc(datetime(2026, 3, 29, 3, 0)) == datetime(2026, 3, 29, 1, 0, tzinfo=timezone.utc)

    def test_a_time_that_happens_twice_means_its_first_occurrence(self):
        ambiguous = datetime(2026, 10, 25, 2, 30)
        assert mailer_clock.is_ambiguous_local(ambiguous)
        # Still summer time (UTC+2) the first time round, whatever fold the caller passed.
        assert mailer_clock.local_to_utc(ambiguous) == datetime(2026, 10, 25, 0, 30, tzinfo=timezone.utc)
        assert mailer_clock.local_to_utc(ambiguous.replace(fold=1)) == datetime(2026, 10, 25, 0, 30, tzinfo=timezone.utc)

    def test_utc_back_to_copenhagen(self):
        local = mailer_clock.utc_to_local(datetime(2026, 10, 25, 1, 30, tzinfo=timezone.utc))
        assert (local.hour, local.minute, local.utcoffset()) == (2, 30, timedelta(hours=1))

    def test_format_when_in_both_languages(self):
        start = datetime(2023, 9, 19, 11, 0, tzinfo=timezone.utc)
        assert mailer_clock.format_when(start, start + timedelta(hours=3), "en") == "Tuesday, September 19, 2023, 13:00–16:00"
        assert mailer_clock.format_when(start, start + timedelta(hours=3), "da") == "tirsdag den 19. september 2023, 13.00–16.00"


class TestUpcomingAndPrevious:
    """An event is upcoming until it has ended; previous ones are those that have ended."""

    def test_split_around_now(self, app, clock):
        with app.app_context():
            running = create_event("Started an hour ago", starts_at=NOW - timedelta(hours=1), ends_at=NOW + timedelta(hours=1))
            tonight = create_event("Ends later today", starts_at=NOW + timedelta(hours=5), ends_at=NOW + timedelta(hours=8))
            next_week = create_event("Next week", starts_in=timedelta(days=7))
            just_ended = create_event("Ended a minute ago", starts_at=NOW - timedelta(hours=2), ends_at=NOW - timedelta(minutes=1))
            last_year = create_event("Last year", starts_in=timedelta(days=-365))
            open_ended_past = create_event("No end, started", starts_at=NOW - timedelta(minutes=5), ends_at=None)

            upcoming = [e.id for e in service.upcoming_events()]
            previous = [e.id for e in service.previous_events()]
        assert upcoming == [running, tonight, next_week]  # soonest first
        assert previous == [open_ended_past, just_ended, last_year]  # newest first

    def test_now_can_be_passed_in(self, app):
        with app.app_context():
            event_id = create_event("Next week")
            assert [e.id for e in service.upcoming_events(NOW)] == [event_id]
            assert [e.id for e in service.previous_events(NOW + timedelta(days=30))] == [event_id]

    def test_cancelled_events_stay_listed_unless_asked_not_to(self, app, clock):
        with app.app_context():
            event_id = create_event()
            service.cancel_event(db.session.get(Event, event_id))
            db.session.commit()
            assert [e.id for e in service.upcoming_events()] == [event_id]
            assert service.upcoming_events(include_cancelled=False) == []


class TestCreateEditCancel:
    def test_create_with_topics_and_course_sessions(self, app):
        with app.app_context():
            topic = db.session.scalar(db.select(Topic).filter_by(slug="online-courses"))
            start = datetime(2026, 1, 15, 16, 0, tzinfo=timezone.utc)
            event = service.create_event(EventData(
                title_da="Onlinekursus", event_type=EventType.COURSE, starts_at=start, ends_at=start + timedelta(days=14, hours=2),
                is_online=True, online_url="https://example.org/zoom", topic_ids=[topic.id],
                sessions=[SessionData("Seminar 2", start + timedelta(days=14), start + timedelta(days=14, hours=2)),
                          SessionData("Kickoff", start, start + timedelta(hours=2))],
            ))
            db.session.commit()
            assert event.uid.endswith("@mailer") and event.sequence == 0 and event.status == EventStatus.PLANNED
            assert [s.title_da for s in event.sessions] == ["Kickoff", "Seminar 2"]
            assert [t.slug for t in event.topics] == ["online-courses"]

    def test_local_naive_times_are_read_as_copenhagen(self, app):
        with app.app_context():
            event = service.create_event(EventData(title_da="Sommer", starts_at=datetime(2026, 7, 1, 18, 0), city="Aarhus"))
            assert event.starts_at == datetime(2026, 7, 1, 16, 0, tzinfo=timezone.utc)
            with pytest.raises(NonExistentLocalTime) as caught:
                service.create_event(EventData(title_da="Gap", starts_at=datetime(2026, 3, 29, 2, 30)))
            assert caught.value.field == "starts_at"

    def test_update_bumps_sequence_and_keeps_uid_and_session_ids(self, app):
        with app.app_context():
            start = datetime(2026, 1, 15, 16, 0, tzinfo=timezone.utc)
            sessions = [SessionData("Kickoff", start, start + timedelta(hours=2)),
                        SessionData("Seminar 1", start + timedelta(days=7), start + timedelta(days=7, hours=2))]
            data = EventData(title_da="Kursus", event_type=EventType.COURSE, starts_at=start,
                             ends_at=start + timedelta(days=7, hours=2), is_online=True, sessions=sessions)
            event = service.create_event(data)
            db.session.commit()
            uid, session_ids = event.uid, [s.id for s in event.sessions]
            data.title_da = "Kursus (ny tid)"
            data.sessions = [SessionData("Kickoff", start + timedelta(hours=1), start + timedelta(hours=3)), sessions[1]]
            service.update_event(event, data)
            db.session.commit()
            assert (event.title_da, event.sequence, event.uid) == ("Kursus (ny tid)", 1, uid)
            assert [s.id for s in event.sessions] == session_ids

    def test_cancel_is_idempotent(self, app, clock):
        with app.app_context():
            event = db.session.get(Event, create_event())
            assert service.cancel_event(event) is True
            assert service.cancel_event(event) is False
            assert (event.status, event.sequence) == (EventStatus.CANCELLED, 1)

    BAD_DATA = [
        ({"title_da": "  "}, "title_da"),
        ({"title_da": "", "title_en": "Two\r\nlines"}, "title_en"),
        ({"event_type": "party"}, "event_type"),
        ({"ends_at": NOW}, "ends_at"),
        ({"signup_url": "javascript:alert(1)"}, "signup_url"),
        ({"online_url": "ftp://example.org/x"}, "online_url"),
        ({"image_url": "https://example.org/a.jpg"}, "image_alt"),
        ({"sessions": [SessionData("Extra", NOW, NOW + timedelta(hours=1))]}, "sessions"),
        ({"topic_ids": [999999]}, "topics"),
    ]

    def test_bad_data_is_refused_with_the_field_named(self, app, subtests):
        with app.app_context():
            for changes, field in self.BAD_DATA:
                with subtests.test(field=field, changes=changes):
                    values = {"title_da": "Workshop", "starts_at": NOW, "ends_at": NOW + timedelta(hours=2), "city": "Aarhus", **changes}
                    with pytest.raises(EventValidationError) as caught:
                        service.create_event(EventData(**values))
                    assert caught.value.field == field
            assert db.session.scalar(db.select(db.func.count(Event.id))) == 0


def test_description_html_is_safe(app):
    with app.app_context():
        event = db.session.get(Event, create_event(description_markdown="**Kom** <script>alert(1)</script> <img src=x onerror=alert(1)>"))
        html = service.description_html(event)
    assert "<strong>Kom</strong>" in html
    assert "<script" not in html and "onerror" not in html


def test_demo_events_are_seeded_once(app, clock):
    from mailer.demo_events import seed_demo_events

    with app.app_context():
        created = seed_demo_events()
        db.session.commit()
        assert created >= 10
        assert seed_demo_events() == 0
        titles = {e.title_for("en"): e for e in db.session.scalars(db.select(Event))}
        panel = titles["A Life within the Cultural Industries without Abuse of Power"]
        for person in ("Anja Bo", "Bjarke Svendsen", "Daniel Andersson", "Eva Frost", "Kirsten Barslund", "Tinna C. Nielsen"):
            assert person in panel.description_for("en")
        course = titles["Online course: changing behaviour and culture in the arts"]
        assert [s.title_for("en") for s in course.sessions] == ["Kickoff", *(f"Seminar {n}" for n in range(1, 7))]
        assert mailer_clock.utc_to_local(course.starts_at).date().isoformat() == "2020-12-16"
        assert mailer_clock.utc_to_local(course.ends_at).date().isoformat() == "2021-03-23"
        assert mailer_clock.utc_to_local(titles["Networking event at Musikhuset"].starts_at).date().isoformat() == "2021-09-23"
        assert mailer_clock.utc_to_local(titles["Workshop with In Futurum in Aarhus"].starts_at).date().isoformat() == "2023-09-19"
        assert titles["Networking event at VEGA"].venue_for("en") == "VEGA"
        assert len(service.upcoming_events()) >= 2 and len(service.previous_events()) >= 8
