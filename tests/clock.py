"""The tests' "now" and the settable clock the `clock` fixture (tests/conftest.py) puts behind mailer.clock.utcnow."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

# A Monday in May, 12:00 UTC (14:00 in Copenhagen): "now" for every test that needs a clock.
# The weekly digest (Monday 08:00 by default) is due.
NOW = datetime(2026, 5, 11, 12, 0, tzinfo=timezone.utc)
WEEK = timedelta(days=7)


class Clock:
    """A fixed "now" that a test moves on by hand."""

    def __init__(self, now: datetime = NOW) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, delta: timedelta) -> datetime:
        self.now += delta
        return self.now

    def set(self, moment: datetime) -> datetime:
        self.now = moment
        return moment
