"""Demo events, the past ones: the model organisation's programme, in Danish and English.

The facts (titles, dates, places, people) come from the organisation's public events page
(in English), as it stood when the demo was written; the descriptions and the Danish versions
are our own words. Where the page gives no date or time, the demo uses a plausible one, noted
in a comment as "date not on the page".
"""
from __future__ import annotations

from datetime import date, datetime, time

from mailer.clock import local_to_utc
from mailer.events.service import EventData, SessionData
from mailer.models import EventType


def at_copenhagen(day: date | str, hour: int, minute: int = 0) -> datetime:
    """A Copenhagen wall-clock time as UTC."""
    day = date.fromisoformat(day) if isinstance(day, str) else day
    return local_to_utc(datetime.combine(day, time(hour, minute)))


def _sessions(days: list[str], titles: list[tuple[str, str]], start: int, end: int) -> list[SessionData]:
    """One session a day; each title is (Danish, English)."""
    return [SessionData(da, at_copenhagen(day, start), at_copenhagen(day, end), title_en=en)
            for day, (da, en) in zip(days, titles, strict=True)]


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


PANEL_DESCRIPTION_DA = """\
På den digitale udgave af Kulturmødet holdt Kunst & Kultur i Balance en paneldebat om, hvordan vi \
gør en ende på magtmisbrug og sexisme i kunst- og kulturlivet.

Vært: **Anja Bo**

I panelet:

- **Bjarke Svendsen**, leder af spillestedet ALICE CPH
- **Daniel Andersson**, direktør for Dansehallerne
- **Eva Frost**, leder af JazzDanmark
- **Kirsten Barslund**, projektleder for Det Danske Filminstituts mangfoldighedsindsats
- **Tinna C. Nielsen**, adfærdsdesigner hos Move the Elephant for Inclusiveness
"""


def past_events() -> list[tuple[EventData, list[str]]]:
    """The organisation's previous events, oldest first, with their topic slugs, in Danish and English."""
    first_course_days = ["2020-12-16", "2021-01-12", "2021-01-26", "2021-02-09", "2021-02-23", "2021-03-09", "2021-03-23"]
    tinna_course_days = ["2021-10-05", "2021-10-19", "2021-11-02", "2021-11-16"]  # dates not on the page
    newcomer_days = ["2023-02-07", "2023-02-21", "2023-03-07", "2023-03-21", "2023-04-04"]  # dates not on the page
    return [
        (EventData(
            title_da="Onlinekursus: adfærd og kultur i forandring i kunstlivet",
            title_en="Online course: changing behaviour and culture in the arts",
            event_type=EventType.COURSE,
            # 16 December 2020 to 23 March 2021 is on the page; the seminar dates between are not.
            starts_at=at_copenhagen("2020-12-16", 15), ends_at=at_copenhagen("2021-03-23", 17),
            is_online=True,
            description_markdown_da=(
                "Vores allerførste initiativ: et kursus i, hvordan adfærd og kultur ændrer sig, holdt på Zoom "
                "i vinteren 2020–21.\n\nDet begyndte med et kickoff og fortsatte med seks seminarer."
            ),
            description_markdown_en=(
                "Our very first initiative: a course on how behaviour and culture change, held on Zoom over "
                "the winter of 2020–21.\n\nIt opened with a kickoff event and continued with six seminars."
            ),
            sessions=_sessions(first_course_days, [("Kickoff", "Kickoff"), *((f"Seminar {n}", f"Seminar {n}") for n in range(1, 7))], 15, 17),
        ), ["online-courses"]),
        (EventData(
            title_da="Panel: Hvordan skaber vi mere ligestilling og mangfoldighed i de kreative brancher?",
            title_en="Panel: How Do We Create More Equality and Diversity in the Creative Industries?",
            event_type=EventType.PANEL,
            starts_at=at_copenhagen("2021-04-15", 15), ends_at=at_copenhagen("2021-04-15", 16, 30),  # date not on the page
            description_markdown_da=(
                "En paneldebat om, hvad vi, der driver kultur, kan gøre, så scener, filmsets og tegnestuer "
                "i hele landet afspejler flere af dem, der bor her."
            ),
            description_markdown_en=(
                "A panel debate on what we, as people running culture, can do so that stages, film sets and "
                "drawing studios across Denmark reflect more of the people who live here."
            ),
        ), ["newsletter"]),
        (EventData(
            title_da="Workshop og netværk på Talk Town-festivalen",
            title_en="Workshop and networking at the Talk Town festival",
            event_type=EventType.WORKSHOP,
            starts_at=at_copenhagen("2021-05-27", 13), ends_at=at_copenhagen("2021-05-27", 17),  # date not on the page
            venue_da="Talk Town-festivalen", venue_en="Talk Town festival",
            description_markdown_da=(
                "En workshop og et netværksmøde bagefter, åbent for alle i kulturlivet. Vi holdt det som en del "
                "af Talk Town-festivalerne, så vores arbejde er en del af den brede samtale om mangfoldighed, "
                "ligestilling og inklusion."
            ),
            description_markdown_en=(
                "A workshop followed by a networking event, open to everyone in the cultural industries. "
                "We held it as part of the Talk Town festivals, so that our work sits inside the wider public "
                "conversation about diversity, equality and inclusion."
            ),
        ), ["newsletter"]),
        (EventData(
            title_da="Et liv i kulturlivet uden magtmisbrug",
            title_en="A Life within the Cultural Industries without Abuse of Power",
            event_type=EventType.PANEL,
            starts_at=at_copenhagen("2021-08-27", 14), ends_at=at_copenhagen("2021-08-27", 15),  # date not on the page
            is_online=True,
            description_markdown_da=PANEL_DESCRIPTION_DA,
            description_markdown_en=PANEL_DESCRIPTION,
        ), ["newsletter"]),
        (EventData(
            title_da="Netværksmøde på Musikhuset",
            title_en="Networking event at Musikhuset",
            event_type=EventType.NETWORKING,
            starts_at=at_copenhagen("2021-09-23", 16), ends_at=at_copenhagen("2021-09-23", 19),  # the time is not on the page
            venue_da="Musikhuset", venue_en="Musikhuset", city="Aarhus",
            description_markdown_da=(
                "En aften for forandringsagenter i kunstlivet, nye som erfarne: indsigter, aha-oplevelser og "
                "idéer, delte erfaringer og nye kontakter.\n\n"
                "Deltagerne mødtes i korte speed meetings og udvekslede viden og erfaringer på tværs af huse."
            ),
            description_markdown_en=(
                "An evening for agents of change in the arts, whether new to the work or long at it: insights, "
                "eye openers and ideas, experiences shared, new contacts made.\n\n"
                "Participants met in short speed meetings to swap knowledge and experience across organisations."
            ),
        ), ["events-aarhus"]),
        (EventData(
            title_da="Kursus med Tinna C. Nielsen: strukturer, processer og adfærd",
            title_en="Course with Tinna C. Nielsen: structures, processes and behaviour",
            event_type=EventType.COURSE,
            starts_at=at_copenhagen(tinna_course_days[0], 15), ends_at=at_copenhagen(tinna_course_days[-1], 17),
            is_online=True,
            description_markdown_da=(
                "Fire onlinemoduler om at ændre strukturer, processer og hverdagens adfærd, så de kreative og "
                "kulturelle brancher bliver mere retfærdige arbejdspladser.\n\n"
                "Udviklet og undervist sammen med antropolog og adfærdsekspert **Tinna C. Nielsen** og hendes "
                "organisationer Move the Elephant for Inclusiveness og Inclusion Nudges."
            ),
            description_markdown_en=(
                "Four online modules on changing structures, processes and everyday behaviour, so that the "
                "creative and cultural industries become fairer places to work.\n\n"
                "Developed and taught with anthropologist and behavioural expert **Tinna C. Nielsen** and her "
                "organisations Move the Elephant for Inclusiveness and Inclusion Nudges."
            ),
            sessions=_sessions(tinna_course_days, [(f"Modul {n}", f"Module {n}") for n in range(1, 5)], 15, 17),
        ), ["online-courses"]),
        (EventData(
            title_da="Bias og barrierer: debat på Kulturmødet",
            title_en="Biases and barriers: debate at the Culture Meeting",
            event_type=EventType.OTHER,
            starts_at=at_copenhagen("2022-08-25", 13), ends_at=at_copenhagen("2022-08-25", 14),  # date not on the page
            venue_da="Kulturmødet", venue_en="the Culture Meeting (Kulturmødet)", city="Nykøbing Mors",
            description_markdown_da=(
                "På Kulturmødet talte vi om ubevidst bias, grænseoverskridende adfærd og de barrierer, der "
                "holder folk ude af de kulturelle og kreative brancher."
            ),
            description_markdown_en=(
                "At the Culture Meeting we talked about unconscious bias, transgressive behaviour and the "
                "barriers that keep people out of the cultural and creative industries."
            ),
        ), ["newsletter"]),
        (EventData(
            title_da="Netværksmøde på VEGA",
            title_en="Networking event at VEGA",
            event_type=EventType.NETWORKING,
            starts_at=at_copenhagen("2022-10-27", 17), ends_at=at_copenhagen("2022-10-27", 20),  # date not on the page
            venue_da="VEGA", venue_en="VEGA", city="København",
            description_markdown_da=(
                "En netværksaften på VEGA om mangfoldighed og inklusion, og om måder at modvirke ubevidst bias "
                "på, ens egen og andres.\n\n"
                "Blandt gæsterne var kulturministeren, **Jens Rottbøll** fra Living Institute og folk fra "
                "kampagnerne *Stregen i Sandet* og *Restage*. Der var tid til at møde andre forandringsagenter "
                "og kolleger fra hele branchen."
            ),
            description_markdown_en=(
                "A networking evening at VEGA to catch up on diversity and inclusion, and to practise ways of "
                "countering unconscious bias, your own and other people's.\n\n"
                "Guests included the Minister for Culture, **Jens Rottbøll** of Living Institute, and people from "
                "the campaigns *Stregen i Sandet* and *Restage*. There was time to meet other agents of change "
                "and colleagues from across the industries."
            ),
        ), ["events-copenhagen"]),
        (EventData(
            title_da="Onlinekursus for nye: bias, mangfoldighed og inklusion",
            title_en="Online course for newcomers: bias, diversity and inclusion",
            event_type=EventType.COURSE,
            starts_at=at_copenhagen(newcomer_days[0], 15), ends_at=at_copenhagen(newcomer_days[-1], 17),
            is_online=True,
            description_markdown_da=(
                "Fem onlineseminarer for dem, der er nye i emnet: hvordan ubevidst bias virker, hvad "
                "mangfoldighed og inklusion betyder i praksis, og værktøjer til at begynde forandringen, "
                "hvor du arbejder."
            ),
            description_markdown_en=(
                "Five online seminars for people new to the subject: how unconscious bias works, what diversity "
                "and inclusion mean in practice, and tools to start changing things where you work."
            ),
            sessions=_sessions(newcomer_days, [(f"Seminar {n}", f"Seminar {n}") for n in range(1, 6)], 15, 17),
        ), ["online-courses"]),
        (EventData(
            title_da="Workshop med In Futurum i Aarhus",
            title_en="Workshop with In Futurum in Aarhus",
            event_type=EventType.WORKSHOP,
            starts_at=at_copenhagen("2023-09-19", 13), ends_at=at_copenhagen("2023-09-19", 17),  # the time is not on the page
            city="Aarhus",
            description_markdown_da=(
                "En workshop om normer, bias, privilegier og grænseoverskridende adfærd i kunst- og kulturlivet, "
                "ledet af **Moussa Mchangama** fra In Futurum, med tid til at lære folk fra andre organisationer "
                "at kende.\n\n"
                "ROSA filmede to deltagere, der fortæller, hvad de tog med hjem fra dagen."
            ),
            description_markdown_en=(
                "A workshop on norms, bias, privilege and transgressive behaviour in the arts and cultural "
                "industries, led by **Moussa Mchangama** of In Futurum, with time to get to know people from "
                "other organisations.\n\n"
                "ROSA filmed two participants talking about what they took home from the day."
            ),
        ), ["events-aarhus"]),
    ]
