"""Create the periodic upcoming-events digest: at most one per period, scheduled for the moment it is made.

The digest is an ordinary mailing of kind DIGEST to every topic, in each subscriber's own
language; the sending engine starts it like any other (start_due_mailings) and
mailer.sending.digest_audience picks each recipient's events. A period is due from its weekday and hour
in Copenhagen time; a beat that comes late (the scheduler was down) still makes that period's
digest, once.
"""
from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

from babel.dates import format_date
from flask import current_app
from flask_babel import force_locale, gettext
from sqlalchemy import false, select, text, update

from mailer.clock import NonExistentLocalTime, local_to_utc, utc_to_local
from mailer.extensions import db
from mailer.models import Mailing, MailingKind, MailingStatus, Topic

log = logging.getLogger(__name__)

# Any constant: it only has to differ from other advisory locks taken on the same database.
ADVISORY_LOCK_KEY = int.from_bytes(b"digest", "big")


@dataclass(frozen=True)
class DigestSchedule:
    period: str   # "weekly" or "monthly" (the first such weekday of the month)
    weekday: int  # Monday is 0
    hour: int     # Copenhagen wall-clock hour


def digest_schedule(config: Mapping[str, Any]) -> DigestSchedule | None:
    """Return the schedule load_config parsed from MAILER_DIGEST_*; None when digests are off."""
    if config["DIGEST_SCHEDULE"] == "off":
        return None
    return DigestSchedule(config["DIGEST_SCHEDULE"], config["DIGEST_WEEKDAY"], config["DIGEST_HOUR"])


def _at(day: date, hour: int) -> datetime:
    try:
        return local_to_utc(datetime.combine(day, time(hour)))
    except NonExistentLocalTime:  # 02:00 the night the clocks go forward: that hour starts at 03:00
        return local_to_utc(datetime.combine(day, time(hour + 1)))


def _first_weekday(year: int, month: int, weekday: int) -> date:
    first = date(year, month, 1)
    return first + timedelta(days=(weekday - first.weekday()) % 7)


def period_start(schedule: DigestSchedule, now: datetime) -> datetime:
    """The latest moment at or before `now` (aware) when a digest was due, as aware UTC."""
    today = utc_to_local(now).date()
    if schedule.period == "weekly":
        day = today - timedelta(days=(today.weekday() - schedule.weekday) % 7)
        due = _at(day, schedule.hour)
        return due if due <= now else _at(day - timedelta(days=7), schedule.hour)
    due = _at(_first_weekday(today.year, today.month, schedule.weekday), schedule.hour)
    if due <= now:
        return due
    year, month = (today.year, today.month - 1) if today.month > 1 else (today.year - 1, 12)
    return _at(_first_weekday(year, month, schedule.weekday), schedule.hour)


def digest_subject(schedule: DigestSchedule, due: datetime, language: str) -> str:
    """What staff see in the mailings list (subscribers get their own subject, in their language)."""
    local = utc_to_local(due).date()
    with force_locale(language):
        if schedule.period == "weekly":
            year, week, _ = local.isocalendar()
            return gettext("Digest of upcoming events, week %(week)s %(year)s", week=week, year=year)
        return gettext("Digest of upcoming events, %(month)s", month=format_date(local, "LLLL yyyy", locale=language))


def _one_creator_at_a_time() -> None:
    """Serialise digest creation across processes until this transaction ends (two beats, one digest)."""
    if db.session.get_bind().dialect.name == "postgresql":
        db.session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": ADVISORY_LOCK_KEY})
    else:
        # SQLite: a write, even one that changes nothing, takes the database's write lock at once.
        db.session.execute(update(Mailing).where(false()).values(kind=Mailing.kind))


def _made_since(moment: datetime) -> int | None:
    query = select(Mailing.id).where(Mailing.kind == MailingKind.DIGEST,
                                          Mailing.created_at >= moment)
    return db.session.scalar(query.limit(1))


def create_due_digest(now: datetime) -> int | None:
    """Create and schedule this period's digest if it is due and not made yet; return its id, or None.

    Whatever became of an earlier digest of the period (sent, cancelled by staff, still
    sending), it counts: a period never gets a second one.
    """
    schedule = digest_schedule(current_app.config)
    if schedule is None:
        return None
    due = period_start(schedule, now)
    db.session.rollback()  # the lock must be the first statement of its transaction
    _one_creator_at_a_time()
    if (existing := _made_since(due)) is not None:
        db.session.rollback()
        log.debug("digest of the period from %s already exists: %s", due.isoformat(), existing)
        return None
    digest = Mailing(
        kind=MailingKind.DIGEST, subject_da=digest_subject(schedule, due, "da"),
        subject_en=digest_subject(schedule, due, "en"), audience_language=None, topics=list(db.session.scalars(select(Topic).order_by(Topic.position, Topic.id))),
        status=MailingStatus.SCHEDULED, scheduled_at=now, created_at=now, updated_at=now,
    )
    db.session.add(digest)
    db.session.commit()
    log.info("digest %s created for the period from %s", digest.id, due.isoformat())
    return digest.id
