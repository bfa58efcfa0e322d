"""A realistic mailing body: Markdown that renders to about 15 KB of HTML."""
from __future__ import annotations

from sqlalchemy import select

from mailer.extensions import db
from mailer.models import Mailing, Topic

SUBJECT = "Efterårets program: workshops, netværk og debat"
PREHEADER = "Tilmeld dig efterårets workshops i København og Aarhus"

_INTRO = """# Efterårets program er klar

Kære alle i kunst- og kulturlivet. Efteråret byder på **workshops**, *netværksmøder* og debatter
om inklusion, normer og privilegier. Her er hele programmet, med datoer, steder og links til
tilmelding. Pladserne fordeles efter først-til-mølle, så vent ikke for længe.

Vi har i år samarbejdet med [Musikhuset Aarhus](https://www.musikhusetaarhus.dk/), [VEGA](https://vega.dk/)
og en række mindre spillesteder og gallerier. Tak til alle, der har givet feedback på sidste sæson.
"""

_PLACES = [
    ("København", "Kulturhuset Islands Brygge", "Islands Brygge 18, 2300 København S"),
    ("Aarhus", "Musikhuset Aarhus, Lille Sal", "Thomas Jensens Allé 2, 8000 Aarhus C"),
    ("Odense", "Kulturmaskinen", "Farvergården 7, 5000 Odense C"),
    ("Aalborg", "Nordkraft", "Kjellerups Torv 5, 9000 Aalborg"),
]
_THEMES = [
    "Normer og privilegier i kulturlivet",
    "Tilgængelige arrangementer for alle",
    "Rekruttering uden blinde vinkler",
    "Mangfoldighed på scenen og bag den",
    "Kommunikation, der taler til flere",
    "Ledelse og inkluderende arbejdspladser",
    "Publikumsudvikling i praksis",
    "Fra strategi til handling: næste skridt",
]


def _section(number: int) -> str:
    theme = _THEMES[number % len(_THEMES)]
    city, venue, address = _PLACES[number % len(_PLACES)]
    day = 3 + (number * 5) % 25
    slug = f"workshop-{number + 1}"
    return f"""
## {number + 1}. {theme}

En workshop i {city} for ledere, kuratorer, producenter og frivillige, der vil arbejde konkret med
*{theme.lower()}*. Vi veksler mellem korte oplæg, øvelser i små grupper og fælles opsamling, og du går
hjem med værktøjer, som du kan bruge allerede næste dag. Ingen forudsætninger kræves; alle er velkomne.

- **Dato:** {day}. oktober, kl. 13.00–16.30
- **Sted:** {venue}, {address}
- **Pris:** gratis for medlemmer, 250 kr. for andre
- **Tilgængelighed:** trinfri adgang, teleslynge og tegnsprogstolk efter aftale

Underviserne har mange års erfaring fra scenekunst, museer og festivaler. Læs mere om indholdet og
[tilmeld dig her](https://news.example.org/arrangementer/{slug}?utm_source=nyhedsbrev), eller skriv
til [info@example.org](mailto:info@example.org) med spørgsmål.
"""


def mailing_markdown(sections: int) -> str:
    """Return the intro, `sections` event sections and a closing paragraph."""
    closing = ("\n---\n\nVi glæder os til at se dig. Del gerne nyhedsbrevet med kolleger, "
               "der kunne have glæde af det. [Se hele kalenderen](https://news.example.org/kalender).\n")
    return _INTRO + "".join(_section(i) for i in range(sections)) + closing


def rendered_message_size(markdown: str, language: str = "da") -> int:
    """Size in bytes of the whole message the engine would send to one recipient (headers, both parts)."""
    from mailer.outgoing import message_builder
    from mailer.composing.mailing import CompiledMailing

    mailing = Mailing(subject_da=SUBJECT, preheader_da=PREHEADER, body_markdown_da=markdown, topics=[])
    message = CompiledMailing(mailing, language).personalise(sample_recipient())
    built = message_builder({"List-Id": '"Bench" <newsletter.news.example.org>'}).build(
        to="sample@example.org", subject=message.subject, text=message.text, html=message.html,
        headers=message.headers)
    return len(built.data)


def sample_recipient():
    from mailer.sending.deliveries import Recipient

    return Recipient(delivery_id=0, subscriber_id=0, email="sample@example.org", name="Læser Eksempel",
                     language="da", public_id="b000001abcdefabcdefabc", token_secret="abcdefghijklmnop", attempts=1)


def markdown_for_message_size(target_bytes: int = 15_000) -> str:
    """Return the smallest body (in whole sections) whose whole message reaches target_bytes."""
    sections = 1
    markdown = mailing_markdown(sections)
    while rendered_message_size(markdown) < target_bytes and sections < 200:
        sections += 1
        markdown = mailing_markdown(sections)
    return markdown


def create_bench_mailing(topic_slug: str, markdown: str) -> int:
    """Create a draft for one topic, to readers of both languages (written in Danish only). Return its id."""
    topics = list(db.session.scalars(select(Topic).where(Topic.slug == topic_slug)))
    mailing = Mailing(subject_da=SUBJECT, preheader_da=PREHEADER, body_markdown_da=markdown,
                      audience_language=None, topics=topics)
    db.session.add(mailing)
    db.session.commit()
    return mailing.id
