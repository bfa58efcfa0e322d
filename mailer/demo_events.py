"""Demo events: the model organisation's past programme (mailer/demo_past_events.py), plus a few upcoming ones.

Every event is written in Danish and English, so the demo shows each reader their own language.
"""
from __future__ import annotations

from datetime import date, timedelta

from mailer.clock import utc_to_local
from mailer.demo_past_events import at_copenhagen, past_events
from mailer.events.service import EventData, SessionData, create_event
from mailer.extensions import db
from mailer.models import Event, EventType, Topic
from mailer import clock


def _weekday_outside_holidays(day: date, not_before: date | None = None) -> date:
    """Move a demo date out of the Christmas holidays and onto a Tuesday, Wednesday or Thursday."""
    if not_before and day < not_before:
        day = not_before
    if (day.month == 12 and day.day >= 20) or (day.month == 1 and day.day <= 6):
        day = date(day.year + (day.month == 12), 1, 7)
    while day.weekday() not in (1, 2, 3):
        day += timedelta(days=1)
    return day


def upcoming_demo_events(today: date) -> list[tuple[EventData, list[str]]]:
    """A few plausible events in the weeks after `today`, so the events page has both sections."""
    workshop_day = _weekday_outside_holidays(today + timedelta(days=21))
    networking_day = _weekday_outside_holidays(today + timedelta(days=35), workshop_day + timedelta(days=7))
    course_days = [_weekday_outside_holidays(today + timedelta(days=49), networking_day + timedelta(days=7))]
    for _ in range(2):
        course_days.append(_weekday_outside_holidays(course_days[-1] + timedelta(days=14)))
    return [
        (EventData(
            title_da="Workshop: normer, bias og privilegier i kulturlivet",
            title_en="Workshop: norms, bias and privilege in the arts",
            event_type=EventType.WORKSHOP,
            starts_at=at_copenhagen(workshop_day, 16), ends_at=at_copenhagen(workshop_day, 19),
            venue_da="Musikhuset", venue_en="Musikhuset", city="Aarhus",
            description_markdown_da=(
                "En workshop om de normer og blinde vinkler, vi alle har med på arbejde, og om hvordan vi "
                "sammen gør kunst- og kulturlivet mere åbent.\n\nVi slutter med netværk og en bid mad."
            ),
            description_markdown_en=(
                "A workshop on the norms and blind spots we all bring to work, and on how together we can make "
                "the arts and culture more open.\n\nWe end with networking and a bite to eat."
            ),
            signup_url="https://example.org/tilmelding/workshop-aarhus",
        ), ["events-aarhus"]),
        (EventData(
            title_da="Netværksmøde for forandringsagenter i København",
            title_en="Networking for agents of change in Copenhagen",
            event_type=EventType.NETWORKING,
            starts_at=at_copenhagen(networking_day, 17), ends_at=at_copenhagen(networking_day, 20),
            venue_da="VEGA", venue_en="VEGA", city="København",
            description_markdown_da=(
                "Mød andre, der arbejder for inklusion i kunst og kultur. Korte speed meetings, erfaringer "
                "på tværs af huse og nye kontakter."
            ),
            description_markdown_en=(
                "Meet others working for inclusion in the arts and culture. Short speed meetings, experience "
                "shared across organisations, and new contacts."
            ),
            signup_url="https://example.org/tilmelding/netvaerk-kbh",
        ), ["events-copenhagen"]),
        (EventData(
            title_da="Onlinekursus: inklusion i praksis",
            title_en="Online course: inclusion in practice",
            event_type=EventType.COURSE,
            starts_at=at_copenhagen(course_days[0], 16), ends_at=at_copenhagen(course_days[-1], 18),
            is_online=True, online_url="https://example.org/online/inklusion-i-praksis",
            description_markdown_da=(
                "Et kursus over tre onlinemøder med konkrete værktøjer til at ændre strukturer og vaner "
                "på din arbejdsplads."
            ),
            description_markdown_en=(
                "A course of three online meetings with practical tools for changing structures and habits "
                "where you work."
            ),
            signup_url="https://example.org/tilmelding/inklusion-i-praksis",
            sessions=[
                SessionData(title, at_copenhagen(day, 16), at_copenhagen(day, 18), title_en=title)
                for day, title in zip(course_days, ["Kickoff", "Seminar 1", "Seminar 2"], strict=True)
            ],
        ), ["online-courses"]),
    ]


def seed_demo_events() -> int:
    """Create the demo events whose titles do not exist yet; return how many were created."""
    existing = {title for row in db.session.execute(db.select(Event.title_da, Event.title_en)) for title in row if title}
    topic_ids = {t.slug: t.id for t in db.session.scalars(db.select(Topic))}
    today = utc_to_local(clock.utcnow()).date()
    created = 0
    for data, slugs in [*past_events(), *upcoming_demo_events(today)]:
        if {data.title_da, data.title_en} & existing:
            continue
        data.topic_ids = [topic_ids[slug] for slug in slugs if slug in topic_ids]
        create_event(data)
        created += 1
    return created
