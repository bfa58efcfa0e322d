"""Fixtures for the event mailing tests: one settable clock for events, reminders, staff pages and mailings."""
from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from mailer.extensions import db
from mailer.models import Mailing, MailingStatus, Topic
from mailer.mailings import states
from mailer.sending.engine import SendingRun
from mailer.sending.factory import build_sender, engine_settings
from tests.events import NOW

# Every module that asks for the time when an event mailing is made, moved, started or audited.
CLOCKED_MODULES = (
    "mailer.events.service",
    "mailer.events.calendar",
    "mailer.events.reminders",
    "mailer.mailings.queries",
    "mailer.mailings.states",
    "mailer.mailings.scheduling",
    "mailer.sending.audience",
)


class Clock:
    """A fixed "now" that a test moves on by hand."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, delta: timedelta) -> datetime:
        self.now += delta
        return self.now

    def set(self, moment: datetime) -> datetime:
        self.now = moment
        return moment


def install_clock(monkeypatch, now: datetime = NOW) -> Clock:
    clock = Clock(now)
    for module in CLOCKED_MODULES:
        monkeypatch.setattr(f"{module}.utcnow", clock)
    return clock


@pytest.fixture
def clock(monkeypatch) -> Clock:
    return install_clock(monkeypatch)


def topic_id(slug: str = "events-aarhus") -> int:
    return db.session.scalar(db.select(Topic.id).filter_by(slug=slug))


def send_in_process(mailing_id: int) -> int:
    """Start a due mailing and send it all on this process, as one worker would."""
    assert states.start(mailing_id), states.status_of(mailing_id)
    sent = SendingRun(mailing_id, "test-worker", build_sender(), engine_settings()).run()
    assert states.status_of(mailing_id) == MailingStatus.SENT
    return sent


def status_of(mailing_id: int) -> str:
    return db.session.scalar(db.select(Mailing.status).where(Mailing.id == mailing_id))
