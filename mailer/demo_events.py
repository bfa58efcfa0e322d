"""Demo events: the model organisation's past programme, plus a few upcoming ones.

The facts (titles, dates, places, people) come from the organisation's public events page,
as it stood when the demo was written; the descriptions are our own words. Where the page gives no
date or time, the demo uses a plausible one, noted in a comment as "date not on the page".
"""
from __future__ import annotations

from datetime import date, datetime, time, timedelta

from mailer.clock import local_to_utc, utc_to_local
from mailer.events.service import EventData, SessionData, create_event
from mailer.extensions import db
from mailer.models import Event, EventType, Topic
from mailer import clock


def _at(day: date | str, hour: int, minute: int = 0) -> datetime:
    """A Copenhagen wall-clock time as UTC."""
    day = date.fromisoformat(day) if isinstance(day, str) else day
    return local_to_utc(datetime.combine(day, time(hour, minute)))


def _sessions(days: list[str], titles: list[str], start: int, end: int) -> list[SessionData]:
    return [SessionData(title, _at(day, start), _at(day, end)) for day, title in zip(days, titles, strict=True)]


PANEL_DESCRIPTION = """\
At the digital edition of the Culture Meeting (Kulturmødet), Kunst & Kultur i Balance held a panel \
debate on how to put an end to abuse of power and sexism in the arts and cultural industries.

Host: **Anja Bo**

On the panel:

- **Bjarke Svendsen**, head of the music venue ALICE CPH
- **Daniel Andersson**, director of Dansehallerne
- **Eva Frost**, head of JazzDanmark
- **Kirsten Barslund**, project manager of the Danish Film Institute's diversity initiative
- **Tinna C. Nielsen**, behavioural designer at Move the Elephant for Inclusiveness
"""


def past_events() -> list[tuple[EventData, list[str]]]:
    """The organisation's previous events, oldest first, with their topic slugs."""
    first_course_days = ["2020-12-16", "2021-01-12", "2021-01-26", "2021-02-09", "2021-02-23", "2021-03-09", "2021-03-23"]
    tinna_course_days = ["2021-10-05", "2021-10-19", "2021-11-02", "2021-11-16"]  # dates not on the page
    newcomer_days = ["2023-02-07", "2023-02-21", "2023-03-07", "2023-03-21", "2023-04-04"]  # dates not on the page
    return [
        (EventData(
            title="Online course: changing behaviour and culture in the arts",
            event_type=EventType.COURSE,
            # 16 December 2020 to 23 March 2021 is on the page; the seminar dates between are not.
            starts_at=_at("2020-12-16", 15), ends_at=_at("2021-03-23", 17),
            is_online=True,
            description_markdown=(
                "Our very first initiative: a course on how behaviour and culture change, held on Zoom over "
                "the winter of 2020–21.\n\nIt opened with a kickoff event and continued with six seminars."
            ),
            language="en",
            sessions=_sessions(first_course_days, ["Kickoff", *(f"Seminar {n}" for n in range(1, 7))], 15, 17),
        ), ["online-courses"]),
        (EventData(
            title="Panel: How Do We Create More Equality and Diversity in the Creative Industries?",
            event_type=EventType.PANEL,
            starts_at=_at("2021-04-15", 15), ends_at=_at("2021-04-15", 16, 30),  # date not on the page
            description_markdown=(
                "A panel debate on what we, as people running culture, can do so that stages, film sets and "
                "drawing studios across Denmark reflect more of the people who live here."
            ),
            language="en",
        ), ["newsletter"]),
        (EventData(
            title="Workshop and networking at the Talk Town festival",
            event_type=EventType.WORKSHOP,
            starts_at=_at("2021-05-27", 13), ends_at=_at("2021-05-27", 17),  # date not on the page
            venue="Talk Town festival",
            description_markdown=(
                "A workshop followed by a networking event, open to everyone in the cultural industries. "
                "We held it as part of the Talk Town festivals, so that our work sits inside the wider public "
                "conversation about diversity, equality and inclusion."
            ),
            language="en",
        ), ["newsletter"]),
        (EventData(
            title="A Life within the Cultural Industries without Abuse of Power",
            event_type=EventType.PANEL,
            starts_at=_at("2021-08-27", 14), ends_at=_at("2021-08-27", 15),  # date not on the page
            is_online=True,
            description_markdown=PANEL_DESCRIPTION,
            language="en",
        ), ["newsletter"]),
        (EventData(
            title="Networking event at Musikhuset",
            event_type=EventType.NETWORKING,
            starts_at=_at("2021-09-23", 16), ends_at=_at("2021-09-23", 19),  # the time is not on the page
            venue="Musikhuset", city="Aarhus",
            description_markdown=(
                "An evening for agents of change in the arts, whether new to the work or long at it: insights, "
                "eye openers and ideas, experiences shared, new contacts made.\n\n"
                "Participants met in short speed meetings to swap knowledge and experience across organisations."
            ),
            language="en",
        ), ["events-aarhus"]),
        (EventData(
            title="Course with Tinna C. Nielsen: structures, processes and behaviour",
            event_type=EventType.COURSE,
            starts_at=_at(tinna_course_days[0], 15), ends_at=_at(tinna_course_days[-1], 17),
            is_online=True,
            description_markdown=(
                "Four online modules on changing structures, processes and everyday behaviour, so that the "
                "creative and cultural industries become fairer places to work.\n\n"
                "Developed and taught with anthropologist and behavioural expert **Tinna C. Nielsen** and her "
                "organisations Move the Elephant for Inclusiveness and Inclusion Nudges."
            ),
            language="en",
            sessions=_sessions(tinna_course_days, [f"Module {n}" for n in range(1, 5)], 15, 17),
        ), ["online-courses"]),
        (EventData(
            title="Biases and barriers: debate at the Culture Meeting",
            event_type=EventType.OTHER,
            starts_at=_at("2022-08-25", 13), ends_at=_at("2022-08-25", 14),  # date not on the page
            venue="Kulturmødet", city="Nykøbing Mors",
            description_markdown=(
                "At the Culture Meeting we talked about unconscious bias, transgressive behaviour and the "
                "barriers that keep people out of the cultural and creative industries."
            ),
            language="en",
        ), ["newsletter"]),
        (EventData(
            title="Networking event at VEGA",
            event_type=EventType.NETWORKING,
            starts_at=_at("2022-10-27", 17), ends_at=_at("2022-10-27", 20),  # date not on the page
            venue="VEGA", city="København",
            description_markdown=(
                "A networking evening at VEGA to catch up on diversity and inclusion, and to practise ways of "
                "countering unconscious bias, your own and other people's.\n\n"
                "Guests included the Minister for Culture, **Jens Rottbøll** of Living Institute, and people from "
                "the campaigns *Stregen i Sandet* and *Restage*. There was time to meet other agents of change "
                "and colleagues from across the industries."
            ),
            language="en",
        ), ["events-copenhagen"]),
        (EventData(
            title="Online course for newcomers: bias, diversity and inclusion",
            event_type=EventType.COURSE,
            starts_at=_at(newcomer_days[0], 15), ends_at=_at(newcomer_days[-1], 17),
            is_online=True,
            description_markdown=(
                "Five online seminars for people new to the subject: how unconscious bias works, what diversity "
                "and inclusion mean in practice, and tools to start changing things where you work."
            ),
            language="en",
            sessions=_sessions(newcomer_days, [f"Seminar {n}" for n in range(1, 6)], 15, 17),
        ), ["online-courses"]),
        (EventData(
            title="Workshop with In Futurum in Aarhus",
            event_type=EventType.WORKSHOP,
            starts_at=_at("2023-09-19", 13), ends_at=_at("2023-09-19", 17),  # the time is not on the page
            city="Aarhus",
            description_markdown=(
                "A workshop on norms, bias, privilege and transgressive behaviour in the arts and cultural "
                "industries, led by **Moussa Mchangama** of In Futurum, with time to get to know people from "
                "other organisations.\n\n"
                "ROSA filmed two participants talking about what they took home from the day."
            ),
            language="en",
        ), ["events-aarhus"]),
    ]


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
            title="Workshop: normer, bias og privilegier i kulturlivet",
            event_type=EventType.WORKSHOP,
            starts_at=_at(workshop_day, 16), ends_at=_at(workshop_day, 19),
            venue="Musikhuset", city="Aarhus",
            description_markdown=(
                "En workshop om de normer og blinde vinkler, vi alle har med på arbejde, og om hvordan vi "
                "sammen gør kunst- og kulturlivet mere åbent.\n\nVi slutter med netværk og en bid mad."
            ),
            signup_url="https://example.org/tilmelding/workshop-aarhus",
            language="da",
        ), ["events-aarhus"]),
        (EventData(
            title="Netværksmøde for forandringsagenter i København",
            event_type=EventType.NETWORKING,
            starts_at=_at(networking_day, 17), ends_at=_at(networking_day, 20),
            venue="VEGA", city="København",
            description_markdown=(
                "Mød andre, der arbejder for inklusion i kunst og kultur. Korte speed meetings, erfaringer "
                "på tværs af huse og nye kontakter."
            ),
            signup_url="https://example.org/tilmelding/netvaerk-kbh",
            language="da",
        ), ["events-copenhagen"]),
        (EventData(
            title="Onlinekursus: inklusion i praksis",
            event_type=EventType.COURSE,
            starts_at=_at(course_days[0], 16), ends_at=_at(course_days[-1], 18),
            is_online=True, online_url="https://example.org/online/inklusion-i-praksis",
            description_markdown=(
                "Et kursus over tre onlinemøder med konkrete værktøjer til at ændre strukturer og vaner "
                "på din arbejdsplads."
            ),
            signup_url="https://example.org/tilmelding/inklusion-i-praksis",
            language="da",
            sessions=[
                SessionData(title, _at(day, 16), _at(day, 18))
                for day, title in zip(course_days, ["Kickoff", "Seminar 1", "Seminar 2"], strict=True)
            ],
        ), ["online-courses"]),
    ]


def seed_demo_events() -> int:
    """Create the demo events whose titles do not exist yet; return how many were created."""
    existing = set(db.session.scalars(db.select(Event.title)))
    topic_ids = {t.slug: t.id for t in db.session.scalars(db.select(Topic))}
    today = utc_to_local(clock.utcnow()).date()
    created = 0
    for data, slugs in [*past_events(), *upcoming_demo_events(today)]:
        if data.title in existing:
            continue
        data.topic_ids = [topic_ids[slug] for slug in slugs if slug in topic_ids]
        create_event(data)
        created += 1
    return created
