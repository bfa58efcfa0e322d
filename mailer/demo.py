"""Demo content for a new installation, taken from an arts organisation's programme."""
from __future__ import annotations

from mailer.extensions import db
from mailer.models import Topic

DEMO_TOPICS = [
    {
        "slug": "events-copenhagen",
        "name_da": "Arrangementer i København",
        "name_en": "Events in Copenhagen",
        "description_da": "Workshops, netværksmøder og debatter i København.",
        "description_en": "Workshops, networking and debates in Copenhagen.",
    },
    {
        "slug": "events-aarhus",
        "name_da": "Arrangementer i Aarhus",
        "name_en": "Events in Aarhus",
        "description_da": "Workshops og netværksmøder i Aarhus, fx på Musikhuset og VEGA.",
        "description_en": "Workshops and networking in Aarhus, for example at Musikhuset and VEGA.",
    },
    {
        "slug": "online-courses",
        "name_da": "Onlinekurser og seminarer",
        "name_en": "Online courses and seminars",
        "description_da": "Kurser over flere seminarer, som du kan følge hjemmefra.",
        "description_en": "Courses of several seminars that you can follow from home.",
    },
    {
        "slug": "newsletter",
        "name_da": "Nyhedsbrev",
        "name_en": "Newsletter",
        "description_da": "Nyt om vores arbejde for inklusion i kunst- og kulturlivet.",
        "description_en": "News about our work for inclusion in the arts and culture.",
    },
]


def seed_demo_content() -> int:
    """Create the demo topics that do not exist yet; return how many were created."""
    existing = set(db.session.scalars(db.select(Topic.slug)))
    created = 0
    for position, values in enumerate(DEMO_TOPICS):
        if values["slug"] in existing:
            continue
        db.session.add(Topic(position=position, is_public=True, **values))
        created += 1
    return created
