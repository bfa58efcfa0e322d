"""python -m mailer.bench.dashboard: the staff dashboard's render time on PostgreSQL at list scale.

Seeds a bench database (its name must contain 'bench'; it is emptied) with N confirmed
subscribers (default 100,000) and a year of their consent ledger (signup and confirmation
spread over 12 months, 5 % unsubscribed, 1 % bounced), M sent mailings (default 200: the
latest 10 to the whole list, the others to 5,000 people each, so about 2 million delivery
rows), three counted links per mailing and the unsubscribes the mailings caused, and five
scheduled mailings. Then it logs in as an admin and GETs /staff/ through the app in this
process (the full request: routing, the queries, Jinja and the SVG), a few times to warm up
and then --rounds times, and prints the median, the 90th percentile and the fastest, for all
topics and for one topic. Everything is set-based SQL; the dashboard's own queries are the
ones the app runs.
"""
from __future__ import annotations

import argparse
import os
import re
import statistics
import sys
import tempfile
import time

import psycopg

from mailer.bench import database

DEFAULT_URL = "postgresql://postgres@127.0.0.1:5432/mailer_dashboard_bench"

_LEDGER = """
INSERT INTO consent_event (subscriber_id, topic_id, action, channel, consent_version, topic_name, created_at)
SELECT s.id, %(topic_id)s, a.action, 'form', '2026-11-1', 'Nyhedsbrev',
       now() - make_interval(secs => (s.id::bigint * 7919 %% (365 * 86400))) + a.later
FROM subscriber s
CROSS JOIN (VALUES ('signup', interval '0'), ('confirm', interval '2 hours')) AS a(action, later)
"""
_LEAVERS = """
INSERT INTO consent_event (subscriber_id, topic_id, action, channel, topic_name, mailing_id, created_at)
SELECT s.id, %(topic_id)s, 'unsubscribe', CASE WHEN s.id %% 100 = 0 THEN 'bounce' ELSE 'one-click' END,
       'Nyhedsbrev', CASE WHEN s.id %% 100 = 0 THEN NULL ELSE 1 + s.id %% %(mailings)s END,
       now() - make_interval(secs => (s.id::bigint * 104729 %% (300 * 86400)))
FROM subscriber s WHERE s.id %% 20 = 0
"""
_MAILINGS = """
INSERT INTO mailing (subject_da, preheader_da, body_markdown_da, status, kind, audience_complete, started_at,
                     finished_at, created_at, updated_at)
SELECT 'Nyhedsbrev nr. ' || g, '', 'Se [programmet](https://example.org/p' || g || ')', 'sent', 'announcement',
       true, now() - make_interval(days => (%(mailings)s - g) * 365 / %(mailings)s),
       now() - make_interval(days => (%(mailings)s - g) * 365 / %(mailings)s) + interval '10 minutes', now(), now()
FROM generate_series(1, %(mailings)s) AS g
"""
_DELIVERIES = """
INSERT INTO delivery (mailing_id, subscriber_id, status, attempts, claims, uncertain, sent_at)
SELECT m.id, s.id, CASE WHEN s.id %% 97 = 0 THEN 'bounced' WHEN s.id %% 499 = 0 THEN 'failed' ELSE 'sent' END,
       1, 1, 0, m.started_at
FROM mailing m JOIN subscriber s
  ON (m.id > %(mailings)s - 10) OR (s.id %% 20 = m.id %% 20)
WHERE m.status = 'sent' AND m.id BETWEEN %(first)s AND %(last)s
"""
_LINKS = """
INSERT INTO mailing_link (mailing_id, url, url_hash, clicks, created_at)
SELECT m.id, 'https://example.org/p' || m.id || '/' || l, md5(m.id || '/' || l) || md5(l::text), (m.id * l * 37) % 900, now()
FROM mailing m CROSS JOIN generate_series(1, 3) AS l
"""
_SCHEDULED = """
INSERT INTO mailing (subject_da, preheader_da, body_markdown_da, status, kind, audience_complete, scheduled_at, created_at, updated_at)
SELECT 'Kommende nr. ' || g, '', 'Snart', 'scheduled', 'announcement', true, now() + make_interval(days => g), now(), now()
FROM generate_series(1, 5) AS g
"""


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def seed(url: str, subscribers: int, mailings: int) -> None:
    """Create the bench database and fill it (set-based SQL, no Python rows)."""
    from mailer import create_app

    database.recreate_database(url)
    app = create_app({"SQLALCHEMY_DATABASE_URI": database.sqlalchemy_url(url)})
    database.migrate_and_seed_topics(app)
    database.seed_subscribers(url, subscribers, log=log)
    started = time.monotonic()
    with psycopg.connect(database.libpq_url(url)) as conn:
        topic_id = conn.execute("SELECT id FROM topic WHERE slug = %s", (database.TOPIC_SLUG,)).fetchone()[0]
        conn.execute(_MAILINGS, {"mailings": mailings})
        conn.execute("INSERT INTO mailing_topic (mailing_id, topic_id) SELECT id, %s FROM mailing", (topic_id,))
        conn.execute(_LEDGER, {"topic_id": topic_id})
        conn.execute(_LEAVERS, {"topic_id": topic_id, "mailings": mailings})
        conn.execute("UPDATE subscriber SET status = 'unsubscribed' WHERE id % 20 = 0 AND id % 100 <> 0")
        conn.execute("UPDATE subscriber SET status = 'bounced' WHERE id % 100 = 0")
        conn.execute(_LINKS)
        conn.execute(_SCHEDULED)
        conn.commit()
        log(f"  ledger, mailings and links in {time.monotonic() - started:.0f} s")
        for first in range(1, mailings + 1, 20):
            conn.execute(_DELIVERIES, {"mailings": mailings, "first": first, "last": first + 19})
            conn.commit()
            log(f"  deliveries of mailings {first}-{min(first + 19, mailings)} ({time.monotonic() - started:.0f} s)")
    with psycopg.connect(database.libpq_url(url), autocommit=True) as conn:
        conn.execute("VACUUM ANALYZE")
    log(f"seeded in {time.monotonic() - started:.0f} s after the subscribers")


def _login(client) -> None:
    from mailer.extensions import db
    from mailer.models import StaffRole, StaffUser

    with client.application.app_context():
        if db.session.scalar(db.select(StaffUser).filter_by(email="bench@example.org")) is None:
            user = StaffUser(email="bench@example.org", role=StaffRole.ADMIN)
            user.set_password("bench password long enough")
            db.session.add(user)
            db.session.commit()
    page = client.get("/staff/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
    response = client.post("/staff/login", data={"csrf_token": token, "email": "bench@example.org",
                                                 "password": "bench password long enough"})
    assert response.status_code == 302, response.status_code


def time_dashboard(url: str, rounds: int) -> dict:
    """Median, 90th percentile and fastest of GET /staff/ (and /staff/?topic=…) in milliseconds."""
    from mailer import create_app

    app = create_app({"SQLALCHEMY_DATABASE_URI": database.sqlalchemy_url(url), "TESTING": True,
                      "SECRET_KEYS": ["bench"], "SECRET_KEY": "bench", "RATELIMIT_STORAGE_URI": "memory://"})
    client = app.test_client()
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "da"
    _login(client)
    with psycopg.connect(database.libpq_url(url)) as conn:
        topic_id = conn.execute("SELECT id FROM topic WHERE slug = %s", (database.TOPIC_SLUG,)).fetchone()[0]
        counts = {table: conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0]  # noqa: S608 - fixed names
                  for table in ("subscriber", "consent_event", "mailing", "delivery", "mailing_link")}
    results = {"rows": counts}
    for label, path in (("all topics", "/staff/"), ("one topic", f"/staff/?topic={topic_id}")):
        for _ in range(3):
            assert client.get(path).status_code == 200
        times = []
        for _ in range(rounds):
            started = time.perf_counter()
            response = client.get(path)
            times.append((time.perf_counter() - started) * 1000)
            assert response.status_code == 200
        times.sort()
        results[label] = {"median_ms": round(statistics.median(times), 1),
                          "p90_ms": round(times[int(len(times) * 0.9) - 1], 1), "fastest_ms": round(times[0], 1)}
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m mailer.bench.dashboard", description=__doc__.splitlines()[0])
    parser.add_argument("--subscribers", type=int, default=100_000)
    parser.add_argument("--mailings", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--database-url", default=DEFAULT_URL, help="emptied first; its name must contain 'bench'")
    parser.add_argument("--reuse", action="store_true", help="time a database seeded by an earlier run")
    parser.add_argument("--keep", action="store_true", help="keep the bench database afterwards")
    options = parser.parse_args(argv)
    database.check_bench_name(options.database_url)
    os.environ.setdefault("MAILER_SECRET_KEY", "bench")
    os.environ["MAILER_INSTANCE_PATH"] = tempfile.mkdtemp(prefix="mailer-dashboard-bench-")
    if not options.reuse:
        log(f"seeding {options.subscribers:,} subscribers and {options.mailings} mailings")
        seed(options.database_url, options.subscribers, options.mailings)
    try:
        results = time_dashboard(options.database_url, options.rounds)
    finally:
        if not options.keep:
            database.drop_database(options.database_url)
    print(f"rows: {results['rows']}")
    for label in ("all topics", "one topic"):
        r = results[label]
        print(f"GET /staff/ ({label}): median {r['median_ms']} ms, p90 {r['p90_ms']} ms, fastest {r['fastest_ms']} ms "
              f"over {options.rounds} requests")
    return 0


if __name__ == "__main__":
    sys.exit(main())
