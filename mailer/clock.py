"""The clock: the one `utcnow` every module asks (tests freeze it in one place), and Copenhagen time.

Times are stored and compared in UTC. People read and type Danish time, whatever their
language: these functions convert between the two, daylight saving included.
"""
from __future__ import annotations

from datetime import datetime, timezone
from zoneinfo import ZoneInfo

from babel.dates import format_date, format_time
from flask_babel import lazy_gettext as _l

COPENHAGEN = ZoneInfo("Europe/Copenhagen")


def utcnow() -> datetime:
    """Return the current time as an aware UTC datetime."""
    return datetime.now(timezone.utc)


class FieldValueError(ValueError):
    """Input that cannot be used; `field` names the form field it belongs to."""

    def __init__(self, field: str, message: str) -> None:
        # The message may be a lazy translation: it is resolved only when shown, in the reader's language.
        super().__init__(field)
        self.field = field
        self.message = message

    def __str__(self) -> str:
        return str(self.message)


class NonExistentLocalTime(FieldValueError):
    """A wall-clock time skipped when the clocks go forward (e.g. 2026-03-29 02:30)."""


class DateOutOfRange(NonExistentLocalTime):
    """A wall-clock time so far in the past or future that it has no UTC equivalent (e.g. 0001-01-01 00:00)."""


def local_to_utc(local: datetime, zone: ZoneInfo = COPENHAGEN) -> datetime:
    """Read a naive wall-clock time in `zone` and return it as aware UTC.

    A time that does not exist (the spring-forward gap) raises NonExistentLocalTime. A time
    that happens twice (the autumn fall-back hour) deterministically means its first
    occurrence, still in summer time (fold=0).
    """
    if local.tzinfo is not None:
        return local.astimezone(timezone.utc)
    naive = local.replace(fold=0)
    aware = naive.replace(tzinfo=zone)
    try:
        round_trip = aware.astimezone(timezone.utc).astimezone(zone).replace(tzinfo=None)
    except OverflowError:
        raise DateOutOfRange("starts_at", _l("%(time)s is too far in the past or the future.",
                                             time=naive.strftime("%Y-%m-%d %H:%M"))) from None
    if round_trip != naive:
        raise NonExistentLocalTime(
            "starts_at",
            _l("%(time)s does not exist in Danish time: the clocks go forward that night. Please choose another time.",
               time=naive.strftime("%Y-%m-%d %H:%M")),
        )
    return aware.astimezone(timezone.utc)


def is_ambiguous_local(local: datetime, zone: ZoneInfo = COPENHAGEN) -> bool:
    """Return True for a wall-clock time that happens twice (the clocks go back that night)."""
    naive = local.replace(tzinfo=None)
    return naive.replace(tzinfo=zone, fold=0).utcoffset() != naive.replace(tzinfo=zone, fold=1).utcoffset()


def utc_to_local(moment: datetime, zone: ZoneInfo = COPENHAGEN) -> datetime:
    """Return an aware datetime as aware Copenhagen time."""
    return moment.astimezone(zone)


def _clock(moment: datetime, locale: str) -> str:
    # 24-hour clock in both languages; Danish writes 13.00, English 13:00.
    return format_time(moment, "HH.mm" if locale.startswith("da") else "HH:mm", tzinfo=COPENHAGEN, locale=locale)


def format_when(starts_at: datetime, ends_at: datetime | None, locale: str) -> str:
    """Say when something happens, in Danish time, e.g. "Tuesday, September 19, 2023, 13:00–16:00"."""
    start = utc_to_local(starts_at)
    if ends_at is None:
        return f"{format_date(start, 'full', locale=locale)}, {_clock(start, locale)}"
    end = utc_to_local(ends_at)
    if start.date() == end.date():
        return f"{format_date(start, 'full', locale=locale)}, {_clock(start, locale)}–{_clock(end, locale)}"
    return f"{format_date(start, 'long', locale=locale)} – {format_date(end, 'long', locale=locale)}"


def format_copenhagen(moment: datetime | None, locale: str, seconds: bool = False) -> str:
    """Say a stored moment in Copenhagen time with the zone, for staff, e.g. "30. nov. 2026, 12.35 CET".

    Every staff page shows times through this (the `copenhagen` template filter); a naive value is UTC.
    """
    if moment is None:
        return ""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    local = utc_to_local(moment)
    clock_time = _clock(local, locale)
    if seconds:
        clock_time += local.strftime(".%S" if locale.startswith("da") else ":%S")
    return f"{format_date(local, 'medium', locale=locale)}, {clock_time} {local.tzname()}"
