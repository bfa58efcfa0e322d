"""How much mail a subscriber wants: frequency (mailings, digest or both) and pauses.

A pause runs for whole calendar months in Danish time and ends at midnight in Copenhagen,
so "paused until 11 June" means mail starts again on 11 June. The sending engine already
treats a pause whose end has passed as over; `resume_ended_pauses` then clears it and
writes the RESUME to the consent ledger. Every change is recorded once; saving the same
choice again records nothing.
"""
from __future__ import annotations

import calendar
import logging
from datetime import date, datetime, time, timezone

from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from mailer.clock import COPENHAGEN
from mailer.extensions import db
from mailer.models import ConsentAction, ConsentChannel, Frequency, Subscriber
from mailer import clock
from mailer.subscribers.consent import Origin, record

log = logging.getLogger(__name__)

PAUSE_MONTHS = (1, 3, 6)
RESUME_BATCH_SIZE = 1000
AUTOMATIC = Origin(ConsentChannel.AUTOMATIC)


class InvalidPreference(ValueError):
    """A frequency or pause length the service does not offer."""


def frequency_labels() -> dict[str, str]:
    """Each frequency in words, in the current language (lazy)."""
    return {
        Frequency.ANNOUNCEMENTS: _l("Every announcement"),
        Frequency.BOTH: _l("Every announcement and the digest of upcoming events"),
        Frequency.DIGEST: _l("Only the digest of upcoming events"),
    }


def pause_end(now: datetime, months: int) -> datetime:
    """Return midnight in Copenhagen on the day `months` calendar months after `now`, as UTC.

    A day that the target month lacks (31 January + 1 month) becomes its last day.
    """
    if months not in PAUSE_MONTHS:
        raise InvalidPreference(f"pause of {months!r} months")
    today = now.astimezone(COPENHAGEN).date()
    year, month_index = divmod(today.month - 1 + months, 12)
    year += today.year
    day = min(today.day, calendar.monthrange(year, month_index + 1)[1])
    midnight = datetime.combine(today.replace(year=year, month=month_index + 1, day=day), time(0), COPENHAGEN)
    return midnight.astimezone(timezone.utc)


def is_paused(subscriber: Subscriber, now: datetime | None = None) -> bool:
    """Return True while the subscriber's pause has not run out."""
    return subscriber.paused_until is not None and subscriber.paused_until > (now or clock.utcnow())


def pause_end_date(subscriber: Subscriber, now: datetime | None = None) -> date | None:
    """The Copenhagen date mail starts again on, while a pause runs; None when not paused."""
    if not is_paused(subscriber, now):
        return None
    return subscriber.paused_until.astimezone(COPENHAGEN).date()


def set_frequency(subscriber: Subscriber, frequency: str, origin: Origin) -> bool:
    """Choose mailings, digest or both; return False when nothing changed."""
    if frequency not in set(Frequency):
        raise InvalidPreference(f"frequency {frequency!r}")
    if subscriber.frequency == frequency:
        return False
    subscriber.frequency = frequency
    record(subscriber, ConsentAction.FREQUENCY, origin, detail=str(frequency))
    log.info("subscriber %s chose frequency %s via %s", subscriber.id, frequency, origin.channel)
    return True


def pause(subscriber: Subscriber, months: int, origin: Origin, now: datetime | None = None) -> bool:
    """Pause all mail for 1, 3 or 6 months from today; return False when the end date is unchanged."""
    now = now or clock.utcnow()
    until = pause_end(now, months)
    if subscriber.paused_until == until:
        return False
    if subscriber.paused_until is not None and not is_paused(subscriber, now):
        end_pause(subscriber, AUTOMATIC, now)  # the old pause ran out before the sweep saw it
    subscriber.paused_until = until
    record(subscriber, ConsentAction.PAUSE, origin, detail=until.isoformat())
    log.info("subscriber %s paused until %s via %s", subscriber.id, until.isoformat(), origin.channel)
    return True


def end_pause(subscriber: Subscriber, origin: Origin, now: datetime | None = None) -> bool:
    """End a pause now; return False when there was none.

    A pause that had already run out ended by itself, so the ledger names the service
    (channel automatic) as its end, whoever clears it.
    """
    if subscriber.paused_until is None:
        return False
    if not is_paused(subscriber, now):
        origin = AUTOMATIC
    record(subscriber, ConsentAction.RESUME, origin, detail=subscriber.paused_until.isoformat())
    subscriber.paused_until = None
    log.info("subscriber %s ended their pause via %s", subscriber.id, origin.channel)
    return True


def resume_ended_pauses(now: datetime, batch_size: int = RESUME_BATCH_SIZE) -> int:
    """Clear every pause that ended by `now`, one RESUME in the ledger each; return how many.

    Rows are taken in batches with FOR UPDATE SKIP LOCKED, so two sweeps running at once
    take different subscribers and nobody gets two RESUME records. The caller commits.
    """
    resumed = 0
    while True:
        batch = db.session.scalars(
            select(Subscriber)
            .where(Subscriber.paused_until <= now)
            .order_by(Subscriber.id)
            .limit(batch_size)
            .with_for_update(skip_locked=True)
        ).all()
        if not batch:
            break
        for subscriber in batch:
            end_pause(subscriber, AUTOMATIC, now)
        db.session.flush()
        resumed += len(batch)
    if resumed:
        log.info("%s pauses ran out and were cleared", resumed)
    return resumed
