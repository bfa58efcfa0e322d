"""Helpers for the event mailing tests."""
from __future__ import annotations

from mailer.extensions import db
from mailer.models import Mailing, MailingStatus, Topic
from mailer.mailings import states
from mailer.sending.engine import SendingRun
from mailer.sending.run_setup import build_sender, engine_settings


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
