"""The sending engine honours what subscribers chose on the manage page: frequency and pause."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from mailer.extensions import db
from mailer.models import ConsentChannel, ConsentEvent, Delivery, Subscriber
from mailer.mailings import states
from mailer.sending.engine import SendingRun
from mailer.sending.run_setup import build_sender, engine_settings
from mailer.subscribers import preferences
from mailer.subscribers.consent import Origin
from tests.factories import create_mailing, create_subscribers

PAUSE_ENDS = datetime(2026, 6, 10, 22, 0, tzinfo=timezone.utc)  # midnight in Copenhagen, 11 June
LINK = Origin(ConsentChannel.LINK, ip="192.0.2.1", user_agent="Browser")


@pytest.fixture
def readers(app, clock) -> dict[str, int]:
    """One subscriber of the newsletter for each frequency, and one who paused for a month."""
    with app.app_context():
        ids = dict(zip(("announcements", "both", "digest", "paused"), create_subscribers(4)))
        subscribers = {name: db.session.get(Subscriber, subscriber_id) for name, subscriber_id in ids.items()}
        preferences.set_frequency(subscribers["both"], "both", LINK)
        preferences.set_frequency(subscribers["digest"], "digest", LINK)
        preferences.pause(subscribers["paused"], 1, LINK)
        db.session.commit()
    return ids


def send_mailing(subject: str, *, change_after_snapshot=None) -> set[int]:
    """Send a newsletter mailing through the engine on this process; return who got it."""
    mailing_id = create_mailing("newsletter", subject=subject)
    states.send_now(mailing_id)
    assert states.start(mailing_id)
    if change_after_snapshot:
        change_after_snapshot()
        db.session.commit()
    SendingRun(mailing_id, "test-worker", build_sender(), engine_settings()).run()
    return set(db.session.scalars(
        db.select(Delivery.subscriber_id).filter_by(mailing_id=mailing_id, status="sent")))


def _actions(subscriber_id: int) -> list[tuple[str, str]]:
    events = db.session.scalars(db.select(ConsentEvent).filter_by(subscriber_id=subscriber_id).order_by(ConsentEvent.id))
    return [(event.action, event.channel) for event in events]


def test_mailings_reach_every_mailing_and_both_never_digest_only(app, outbox, readers):
    with app.app_context():
        assert send_mailing("Ny workshop") == {readers["announcements"], readers["both"]}
    assert sorted(recipient for _, recipient, _ in outbox.sent) == ["reader0@example.org", "reader1@example.org"]


def test_a_paused_subscriber_gets_nothing_until_the_pause_ends_then_mail_again(app, outbox, clock, readers):
    paused = readers["paused"]
    with app.app_context():
        assert paused not in send_mailing("Under pausen")
        clock.set(PAUSE_ENDS - timedelta(minutes=1))
        assert paused not in send_mailing("Sidste dag af pausen")
        # The pause has run out: mail goes out again even before the sweep records it.
        clock.set(PAUSE_ENDS)
        assert paused in send_mailing("Efter pausen")
        assert preferences.resume_ended_pauses(PAUSE_ENDS) == 1
        db.session.commit()
        assert paused in send_mailing("Og igen")
        assert db.session.get(Subscriber, paused).paused_until is None
        assert _actions(paused) == [("pause", "link"), ("resume", "automatic")]
    assert [r for _, r, _ in outbox.sent].count("reader3@example.org") == 2


def test_a_pause_chosen_after_the_snapshot_acts_at_once(app, outbox, readers):
    subscriber_id = readers["announcements"]
    with app.app_context():
        subscriber = db.session.get(Subscriber, subscriber_id)
        recipients = send_mailing("Ny debat", change_after_snapshot=lambda: preferences.pause(subscriber, 3, LINK))
        assert subscriber_id not in recipients and readers["both"] in recipients
        status = db.session.scalar(db.select(Delivery.status).filter_by(subscriber_id=subscriber_id))
        assert status == "skipped"


def test_switching_to_digest_only_after_the_snapshot_acts_at_once(app, outbox, readers):
    subscriber_id = readers["announcements"]
    with app.app_context():
        subscriber = db.session.get(Subscriber, subscriber_id)
        recipients = send_mailing(
            "Ny debat", change_after_snapshot=lambda: preferences.set_frequency(subscriber, "digest", LINK))
        assert recipients == {readers["both"]}
