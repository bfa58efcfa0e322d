"""The bench database: create it empty, migrate, and seed N confirmed subscribers fast."""
from __future__ import annotations

import time
from urllib.parse import urlsplit, urlunsplit

import psycopg
from psycopg import sql

TOPIC_SLUG = "newsletter"

# One statement per chunk: the subscribers and their confirmed subscription, set-based in
# PostgreSQL (generate_series), no Python row objects. Ids and tokens look like real ones:
# public_id is 22 characters and unique by construction, token_secret 16.
_SEED_CHUNK = """
WITH s AS (
  INSERT INTO subscriber (public_id, email, name, language, status, token_secret, created_at, confirmed_at)
  SELECT 'b' || lpad(to_hex(g), 6, '0') || substr(md5(random()::text), 1, 15),
         'reader' || g || '@example.org',
         CASE WHEN g %% 2 = 1 THEN 'Læser ' || g END,
         CASE WHEN g %% 5 = 0 THEN 'en' ELSE 'da' END,
         'confirmed', substr(md5(random()::text), 1, 16), now(), now()
  FROM generate_series(%(first)s::int, %(last)s::int) AS g
  RETURNING id)
INSERT INTO subscription (subscriber_id, topic_id, status, created_at, updated_at)
SELECT id, %(topic_id)s, 'confirmed', now(), now() FROM s
"""


def sqlalchemy_url(url: str) -> str:
    """The SQLAlchemy form of a postgresql:// URL (psycopg 3 driver)."""
    return "postgresql+psycopg://" + url.split("://", 1)[1]


def libpq_url(url: str) -> str:
    """The libpq form of a URL that may carry a SQLAlchemy driver name."""
    return "postgresql://" + url.split("://", 1)[1]


def database_name(url: str) -> str:
    return urlsplit(url).path.lstrip("/")


def check_bench_name(url: str) -> None:
    """Refuse to empty a database that is not obviously a benchmark's own."""
    name = database_name(url)
    if "bench" not in name:
        raise SystemExit(f"refusing to empty database {name!r}: the bench database's name must contain 'bench'")


def recreate_database(url: str) -> None:
    """Drop (kicking out old connections) and create the bench database."""
    check_bench_name(url)
    parts = urlsplit(libpq_url(url))
    admin = urlunsplit(parts._replace(path="/postgres"))
    name = database_name(url)
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))


def drop_database(url: str) -> None:
    check_bench_name(url)
    admin = urlunsplit(urlsplit(libpq_url(url))._replace(path="/postgres"))
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(database_name(url))))


def migrate_and_seed_topics(app) -> None:
    """Run the Alembic migrations and add the demo topics, as an operator would."""
    from flask_migrate import upgrade

    from mailer.demo import seed_demo_content
    from mailer.extensions import db

    with app.app_context():
        upgrade()
        seed_demo_content()
        db.session.commit()
        db.engine.dispose()


def seeded_count(url: str) -> int | None:
    """Subscribers already in a kept bench database, or None if it has no schema yet."""
    try:
        with psycopg.connect(libpq_url(url)) as conn:
            return conn.execute("SELECT count(*) FROM subscriber").fetchone()[0]
    except psycopg.Error:
        return None


def reset_sends(url: str) -> None:
    """Forget earlier mailings of a kept database (subscribers stay)."""
    with psycopg.connect(libpq_url(url)) as conn:
        conn.execute("TRUNCATE delivery, mailing_topic, mailing RESTART IDENTITY CASCADE")


def seed_subscribers(url: str, count: int, chunk: int = 50_000, log=print) -> float:
    """Insert `count` confirmed subscribers of the newsletter topic in chunks; return seconds taken."""
    started = time.monotonic()
    with psycopg.connect(libpq_url(url)) as conn:
        topic_id = conn.execute("SELECT id FROM topic WHERE slug = %s", (TOPIC_SLUG,)).fetchone()[0]
        done = 0
        while done < count:
            last = min(done + chunk, count)
            conn.execute(_SEED_CHUNK, {"first": done + 1, "last": last, "topic_id": topic_id})
            conn.commit()
            done = last
            elapsed = time.monotonic() - started
            log(f"  seeded {done:,}/{count:,} subscribers ({done / elapsed:,.0f}/s)")
        conn.execute("ANALYZE subscriber")
        conn.execute("ANALYZE subscription")
        conn.commit()
    return time.monotonic() - started


def ledger_summary(url: str, mailing_id: int) -> dict:
    """The delivery ledger's counts by status and the mailing's state and timings."""
    with psycopg.connect(libpq_url(url)) as conn:
        counts = dict(conn.execute(
            "SELECT status, count(*) FROM delivery WHERE mailing_id = %s GROUP BY status",
            (mailing_id,)).fetchall())
        status, started_at, finished_at = conn.execute(
            "SELECT status, started_at, finished_at FROM mailing WHERE id = %s", (mailing_id,)).fetchone()
        first_sent, last_sent, max_attempts = conn.execute(
            "SELECT min(sent_at), max(sent_at), max(attempts) FROM delivery WHERE mailing_id = %s",
            (mailing_id,)).fetchone()
    seconds = (lambda a, b: round((b - a).total_seconds(), 3) if a and b else None)
    return {
        "status": status,
        "counts": counts,
        "max_attempts": max_attempts,
        "started_to_first_sent_s": seconds(started_at, first_sent),
        "first_to_last_sent_s": seconds(first_sent, last_sent),
        "started_to_finished_s": seconds(started_at, finished_at),
    }


def mailing_status(url: str, mailing_id: int) -> str | None:
    with psycopg.connect(libpq_url(url)) as conn:
        row = conn.execute("SELECT status FROM mailing WHERE id = %s", (mailing_id,)).fetchone()
    return row[0] if row else None
