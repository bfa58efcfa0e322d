"""Create the periodic upcoming-events digest: at most one per period, scheduled for the moment it is made.

The digest is an ordinary mailing of kind DIGEST to every topic, in each subscriber's own
language; the sending engine starts it like any other (start_due_mailings) and
mailer.sending.digest_audience picks each recipient's events. A period is due from its weekday and hour
in Copenhagen time. A beat that comes late (the scheduler was down) still makes that period's
digest on its own day in Copenhagen, once; from the next day on the period counts as passed and
is skipped: its events are folded into the next digest, because an event stays "New" for a
reader until a digest listing it has been sent to them. So a service started on a Monday
before the digest hour does not send last week's digest now and this week's an hour later.
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


def period_has_passed(due: datetime, now: datetime) -> bool:
    """True once the Copenhagen day of the period's digest is over: too late to make it (folded into the next)."""
    return utc_to_local(now).date() > utc_to_local(due).date()


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


# A digest made by hand (flask digest send-now, the staff button) this long before a period's
# time counts as that period's: the beat then makes none, so nobody gets two within hours.
MADE_EARLY = timedelta(days=1)


def _new_digest(schedule: DigestSchedule, due: datetime, now: datetime) -> Mailing:
    digest = Mailing(
        kind=MailingKind.DIGEST, subject_da=digest_subject(schedule, due, "da"),
        subject_en=digest_subject(schedule, due, "en"), audience_language=None, topics=list(db.session.scalars(select(Topic).order_by(Topic.position, Topic.id))),
        status=MailingStatus.SCHEDULED, scheduled_at=now, created_at=now, updated_at=now,
    )
    db.session.add(digest)
    db.session.commit()
    return digest


def last_digest_made(since: datetime) -> Mailing | None:
    """The newest digest made at or after `since`, whatever became of it."""
    return db.session.scalar(select(Mailing).where(Mailing.kind == MailingKind.DIGEST, Mailing.created_at >= since)
                             .order_by(Mailing.created_at.desc(), Mailing.id.desc()).limit(1))


def create_digest_now(now: datetime) -> tuple[int, bool]:
    """Make a digest at once, whatever the schedule says; return (its id, whether it is new).

    One made in the last MADE_EARLY is given back instead of making a second (a double click, or
    the beat's digest this morning). The next period whose time is less than MADE_EARLY away
    counts it as its own (create_due_digest).
    """
    schedule = digest_schedule(current_app.config) or DigestSchedule("weekly", 0, 8)
    db.session.rollback()
    _one_creator_at_a_time()
    if (recent := last_digest_made(now - MADE_EARLY)) is not None:
        db.session.rollback()
        return recent.id, False
    digest = _new_digest(schedule, now, now)
    log.info("digest %s made by hand at %s", digest.id, now.isoformat())
    return digest.id, True


def create_due_digest(now: datetime) -> int | None:
    """Create and schedule this period's digest if it is due and not made yet; return its id, or None.

    Whatever became of an earlier digest of the period (sent, cancelled by staff, still
    sending), it counts: a period never gets a second one. So does one made by hand less than
    MADE_EARLY before the period's time.
    """
    schedule = digest_schedule(current_app.config)
    if schedule is None:
        return None
    due = period_start(schedule, now)
    if period_has_passed(due, now):
        log.debug("digest of the period from %s skipped: its day has passed", due.isoformat())
        return None
    db.session.rollback()  # the lock must be the first statement of its transaction
    _one_creator_at_a_time()
    if (existing := _made_since(due - MADE_EARLY)) is not None:
        db.session.rollback()
        log.debug("digest of the period from %s already exists: %s", due.isoformat(), existing)
        return None
    digest = _new_digest(schedule, due, now)
    log.info("digest %s created for the period from %s", digest.id, due.isoformat())
    return digest.id
