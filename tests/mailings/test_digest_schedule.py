"""When the digest is made: one per week or month at a Copenhagen hour, never twice, however many beats."""
from __future__ import annotations

import threading
import time
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import func, select

from mailer.mailings import digests
from mailer.mailings.digests import DigestSchedule, create_due_digest, digest_schedule, period_start
from mailer.extensions import db
from mailer.models import Mailing, MailingKind, MailingStatus, Topic
from mailer.mailings import states
from tests.clock import NOW, WEEK

MONDAY, SUNDAY = 0, 6


def utc(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=timezone.utc)


@pytest.mark.parametrize(("schedule", "now", "due"), [
    # Monday 08:00 in Copenhagen is 06:00 UTC in summer...
    (DigestSchedule("weekly", MONDAY, 8), utc(2026, 5, 11, 12, 0), utc(2026, 5, 11, 6, 0)),
    (DigestSchedule("weekly", MONDAY, 8), utc(2026, 5, 11, 6, 0), utc(2026, 5, 11, 6, 0)),
    (DigestSchedule("weekly", MONDAY, 8), utc(2026, 5, 11, 5, 59), utc(2026, 5, 4, 6, 0)),
    (DigestSchedule("weekly", MONDAY, 8), utc(2026, 5, 10, 20, 0), utc(2026, 5, 4, 6, 0)),
    # ...and 07:00 UTC in winter.
    (DigestSchedule("weekly", MONDAY, 8), utc(2026, 11, 30, 12, 0), utc(2026, 11, 30, 7, 0)),
    # The first Monday of the month: May 4th; before it has come, April 6th; in January, December's.
    (DigestSchedule("monthly", MONDAY, 8), utc(2026, 5, 11, 12, 0), utc(2026, 5, 4, 6, 0)),
    (DigestSchedule("monthly", MONDAY, 8), utc(2026, 5, 4, 5, 0), utc(2026, 4, 6, 6, 0)),
    (DigestSchedule("monthly", MONDAY, 8), utc(2026, 1, 3, 12, 0), utc(2025, 12, 1, 7, 0)),
    # 02:00 does not exist the night the clocks go forward: that Sunday's digest is due at 03:00 summer time.
    (DigestSchedule("weekly", SUNDAY, 2), utc(2026, 3, 29, 12, 0), utc(2026, 3, 29, 1, 0)),
])
def test_the_period_starts_at_the_configured_copenhagen_time(schedule, now, due):
    assert period_start(schedule, now) == due


@pytest.mark.parametrize(("config", "expected"), [
    ({"DIGEST_SCHEDULE": "weekly", "DIGEST_WEEKDAY": MONDAY, "DIGEST_HOUR": 8}, DigestSchedule("weekly", MONDAY, 8)),
    ({"DIGEST_SCHEDULE": "monthly", "DIGEST_WEEKDAY": 4, "DIGEST_HOUR": 17}, DigestSchedule("monthly", 4, 17)),
    ({"DIGEST_SCHEDULE": "off", "DIGEST_WEEKDAY": MONDAY, "DIGEST_HOUR": 8}, None),
])
def test_the_schedule_comes_from_the_parsed_config(config, expected):
    # load_config parses and checks MAILER_DIGEST_* at start (tests/test_config.py).
    assert digest_schedule(config) == expected


def digest_count() -> int:
    return db.session.scalar(select(func.count()).select_from(Mailing).where(
        Mailing.kind == MailingKind.DIGEST))


def test_one_digest_per_period_scheduled_for_every_topic_in_each_readers_language(app):
    with app.app_context():
        first = create_due_digest(NOW)
        assert first is not None
        assert create_due_digest(NOW + timedelta(minutes=5)) is None  # the next beat
        assert create_due_digest(NOW + 6 * timedelta(days=1)) is None  # Sunday: still the same week
        second = create_due_digest(NOW + WEEK)
        assert second not in (None, first)
        digest = db.session.get(Mailing, first)
        assert (digest.kind, digest.status, digest.scheduled_at, digest.audience_language) == (
            MailingKind.DIGEST, MailingStatus.SCHEDULED, NOW, None)
        assert {t.id for t in digest.topics} == set(db.session.scalars(select(Topic.id)))
        assert digest.subject_da == "Oversigt over kommende arrangementer, uge 20 2026"
        assert digest.subject_en == "Digest of upcoming events, week 20 2026"
        assert first in states.due_mailing_ids()  # start_due_mailings picks it up


def test_a_digest_staff_cancelled_still_counts_for_its_period(app):
    with app.app_context():
        states.cancel(create_due_digest(NOW))
        assert create_due_digest(NOW + timedelta(hours=1)) is None
        assert digest_count() == 1


def test_digests_switched_off_are_not_made(app):
    app.config["DIGEST_SCHEDULE"] = "off"
    with app.app_context():
        assert create_due_digest(NOW) is None
        assert digest_count() == 0


def test_two_beats_at_the_same_moment_make_one_digest(app, monkeypatch):
    looked = digests._made_since

    def look_slowly(moment):
        found = looked(moment)
        time.sleep(0.5)  # without the lock, the other beat would look now, find nothing and make a second
        return found

    monkeypatch.setattr(digests, "_made_since", look_slowly)
    start, results = threading.Barrier(2), []

    def beat() -> None:
        with app.app_context():
            start.wait()
            results.append(create_due_digest(NOW))
            db.session.remove()

    beats = [threading.Thread(target=beat) for _ in range(2)]
    for thread in beats:
        thread.start()
    for thread in beats:
        thread.join(timeout=30)
    assert len(results) == 2 and results.count(None) == 1
    with app.app_context():
        assert digest_count() == 1


def test_the_beat_task_makes_the_digest_once(app):
    from mailer.tasks.digests import start_due_digest

    celery_app = app.extensions["celery"]
    assert celery_app.conf.beat_schedule["start-due-digest"]["task"] == start_due_digest.name
    assert "mailer.tasks.digests" in celery_app.conf.include
    made = start_due_digest()  # the real clock: this period's digest
    assert made is not None and start_due_digest() is None
    with app.app_context():
        assert digest_count() == 1
