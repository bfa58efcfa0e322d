"""Seed the web benchmark's database: events, sent mailings in the archive, and one-click tokens.

Set-based SQL (generate_series), like the subscribers in mailer/bench/database.py: 1,000 events
and 100 mailings take well under a second. Nine in ten events are in the past, the rest upcoming,
each with a ~900-character Markdown description and the newsletter topic; every second event
has an English version too (the others fall back to Danish), and the mailings are in both languages.
"""
from __future__ import annotations

import psycopg

from mailer.bench.database import TOPIC_SLUG, libpq_url

DESCRIPTION = (
    "Vi mødes i **værkstedet** og arbejder med lyd, lys og rum. Medbring gerne egne materialer; "
    "vi sørger for kaffe, værktøj og [en god stemning](https://example.org/om).\n\n"
    "- Første time: præsentation og opvarmning\n- Anden time: arbejde i små grupper\n"
    "- Tredje time: vi viser hinanden, hvad vi har lavet\n\n"
    "Arrangementet er gratis for medlemmer og koster 50 kr. for andre. Der er trinfri adgang, og "
    "lokalet har teleslynge. Skriv til os, hvis du har brug for noget særligt for at kunne deltage. "
    "Vi glæder os til at se dig, og tag gerne en ven med."
)

_EVENTS = """
WITH e AS (
  INSERT INTO event (uid, title_da, title_en, event_type, starts_at, ends_at, venue_da, venue_en, city, is_online,
                     description_markdown_da, description_markdown_en, status, sequence, created_at, updated_at)
  SELECT 'bench-' || g || '@example.org', 'Værksted ' || g || ': lyd, lys og rum',
         CASE WHEN g %% 2 = 0 THEN 'Workshop ' || g || ': sound, light and space' ELSE '' END,
         (ARRAY['workshop','networking','course','seminar','panel','other'])[1 + g %% 6],
         date_trunc('hour', now()) + (g - %(past)s) * interval '1 day' + interval '17 hours',
         date_trunc('hour', now()) + (g - %(past)s) * interval '1 day' + interval '20 hours',
         'Kulturhuset, sal ' || (1 + g %% 4), 'The Culture House, hall ' || (1 + g %% 4), 'København', false,
         %(description)s, CASE WHEN g %% 2 = 0 THEN %(description)s ELSE '' END,
         CASE WHEN g %% 50 = 0 THEN 'cancelled' ELSE 'planned' END, 0, now(), now()
  FROM generate_series(1, %(count)s::int) AS g
  RETURNING id)
INSERT INTO event_topic (event_id, topic_id) SELECT id, %(topic_id)s FROM e
"""

_MAILINGS = """
WITH m AS (
  INSERT INTO mailing (subject_da, subject_en, preheader_da, preheader_en, body_markdown_da, body_markdown_en,
                       audience_language, status, kind, audience_complete, started_at, finished_at, created_at, updated_at)
  SELECT 'Nyhedsbrev nr. ' || g || ': efterårets værksteder', 'Newsletter no. ' || g || ': autumn workshops',
         'Det sker i Kulturhuset', 'What is on at the Culture House',
         repeat(%(description)s || E'\n\n', 3), repeat(%(description)s || E'\n\n', 3), NULL, 'sent', 'announcement', true,
         now() - (%(count)s - g) * interval '3 days', now() - (%(count)s - g) * interval '3 days',
         now() - (%(count)s - g) * interval '3 days', now() - (%(count)s - g) * interval '3 days'
  FROM generate_series(1, %(count)s::int) AS g
  RETURNING id)
INSERT INTO mailing_topic (mailing_id, topic_id) SELECT id, %(topic_id)s FROM m
"""


def seed_content(url: str, events: int, mailings: int) -> dict:
    """Insert the events and sent mailings; return an upcoming event's id and a mailing's id to request."""
    with psycopg.connect(libpq_url(url)) as conn:
        topic_id = conn.execute("SELECT id FROM topic WHERE slug = %s", (TOPIC_SLUG,)).fetchone()[0]
        past = max(events - max(events // 10, 1), 0)
        conn.execute(_EVENTS, {"count": events, "past": past, "topic_id": topic_id, "description": DESCRIPTION})
        conn.execute(_MAILINGS, {"count": mailings, "topic_id": topic_id, "description": DESCRIPTION})
        conn.commit()
        event_id = conn.execute("SELECT id FROM event WHERE starts_at > now() AND status = 'planned' "
                                "ORDER BY starts_at LIMIT 1").fetchone()[0]
        mailing_id = conn.execute("SELECT max(id) FROM mailing").fetchone()[0]
        conn.execute("ANALYZE event")
        conn.execute("ANALYZE mailing")
        conn.commit()
    return {"event_id": event_id, "mailing_id": mailing_id}


def one_click_tokens(app, url: str, count: int) -> list[str]:
    """Unsubscribe tokens of `count` subscribers, as the List-Unsubscribe header of a mailing carries them."""
    from mailer.tokens import TokenPurpose, TokenSigner

    with psycopg.connect(libpq_url(url)) as conn:
        rows = conn.execute("SELECT public_id, token_secret FROM subscriber ORDER BY id LIMIT %s", (count,)).fetchall()
    with app.app_context():
        signer = TokenSigner(TokenPurpose.UNSUBSCRIBE)
        return [signer.sign(public_id, secret, None) for public_id, secret in rows]
