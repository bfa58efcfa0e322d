"""Send one of every kind of mail the app sends, on this process, through whatever transport the app has.

For the tests that check all of them alike: DKIM on every mail (tests/integration/test_dkim_every_mail.py)
and the content filter's score (tests/composing/test_content_score.py).
"""
from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

from mailer import outgoing
from mailer.events import mailings, reminders, service, update_notices
from mailer.extensions import db
from mailer.mailings import states
from mailer.mailings.digests import create_due_digest
from mailer.mailings.preview import send_test
from mailer.models import Mailing, Subscriber, SubscriberStatus, Subscription, SubscriptionStatus, Topic
from mailer.subscribers.owed_mails import deliver_link_mail, deliver_welcome_mail
from tests.clock import NOW, WEEK, Clock
from tests.factories import create_event, create_subscriber
from tests.helpers import topic_id

KINDS = ("confirm", "welcome", "manage_link", "test_send", "announcement", "reminder", "update", "cancellation",
         "digest")

# Markdown of every common kind, so the text parts show how each comes out (tests/composing/test_plain_text.py).
EVENT_DESCRIPTION = """## Program

Kom til en **koncert** med _Aarhus Symfoniorkester_. Læs mere på
[orkestrets side](https://example.org/aso).

- Gratis entré
- Børn er velkomne

1. Dørene åbner
2. Koncerten begynder"""

# What a transport received so far: (envelope sender, recipient(s), message bytes).
Received = Callable[[], list[tuple[str, object, bytes]]]


def _lifecycle_subscriber(email: str, confirmed: bool, name: str | None = "Mette Ørsted") -> int:
    newsletter = db.session.scalar(db.select(Topic.id).filter_by(slug="newsletter"))
    subscriber = Subscriber(email=email, name=name, language="da",
                            status=SubscriberStatus.CONFIRMED if confirmed else SubscriberStatus.PENDING,
                            confirmed_at=NOW if confirmed else None, link_requested_at=NOW)
    subscriber.subscriptions.append(Subscription(
        topic_id=newsletter, status=SubscriptionStatus.CONFIRMED if confirmed else SubscriptionStatus.UNCONFIRMED))
    db.session.add(subscriber)
    db.session.commit()
    return subscriber.id


def send_every_kind(monkeypatch, received: Received) -> dict[str, list[tuple[str, bytes]]]:
    """Send each kind once (or to a few readers); return (envelope sender, bytes) by kind. In an app context."""
    clock = Clock(NOW)
    monkeypatch.setattr("mailer.clock.utcnow", clock)
    by_kind: dict[str, list[tuple[str, bytes]]] = {}

    def step(kind: str, action: Callable[[], object]) -> None:
        before = len(received())
        action()
        by_kind[kind] = [(sender, data) for sender, _, data in received()[before:]]
        assert by_kind[kind], f"no {kind} mail went out"

    transport = outgoing.get_transport()
    pending = _lifecycle_subscriber("confirm@example.org", confirmed=False)
    step("confirm", lambda: deliver_link_mail(pending, transport))
    welcomed = _lifecycle_subscriber("welcome@example.org", confirmed=True)
    step("welcome", lambda: deliver_welcome_mail(welcomed, transport))
    step("manage_link", lambda: deliver_link_mail(welcomed, transport))

    # The digest of the week's new events in Copenhagen, to a reader who chose it.
    create_subscriber("digest@example.org", "events-copenhagen", frequency="digest", name="Freja Hansen")
    create_event("Netværksmøde på Literaturhaus", "events-copenhagen", created_at=NOW - WEEK / 2, starts_at=NOW + WEEK,
                 hours=2, venue="Literaturhaus", city="København")

    def digest() -> None:
        digest_id = create_due_digest(NOW)
        assert digest_id is not None
        send_in_process(digest_id)

    step("digest", digest)

    # An event announcement to the Aarhus readers, its reminder a week before, then its cancellation.
    for number, name in enumerate(("Søren Ærø", None)):
        create_subscriber(f"aarhus{number}@example.org", "events-aarhus", frequency="both", name=name)
    concert = service.get_event(create_event("Koncert i Musikhuset", starts_in=timedelta(days=14),
                                           venue="Musikhuset", topic_ids=[topic_id()],
                                           description_markdown_da=EVENT_DESCRIPTION))
    mailing = mailings.draft_event_mailing(concert, None)
    mailing_id = mailing.id
    states.send_now(mailing_id)
    reminders.set_reminders(mailing_id, (7,), NOW)
    step("announcement", lambda: send_in_process(mailing_id))
    step("test_send", lambda: send_test(mailing_id, ["staff@example.org"]))
    [week] = reminders.reminders_of(mailing_id)
    clock.set(week.scheduled_at)
    step("reminder", lambda: send_in_process(week.id))

    def update() -> None:
        # The event moves a day; the update notice goes to those who got the announcement.
        moved = service.EventData(title_da=concert.title_da, starts_at=concert.starts_at + timedelta(days=1),
                                  ends_at=concert.ends_at + timedelta(days=1), venue_da=concert.venue_da,
                                  city=concert.city, topic_ids=[t.id for t in concert.topics])
        mailings.update_event_and_mailings(concert, moved)
        db.session.commit()
        notice, _ = update_notices.draft_update_notice(mailing_id, None)
        states.send_now(notice.id)
        send_in_process(notice.id)

    step("update", update)

    def cancellation() -> None:
        service.cancel_event(concert)
        db.session.commit()
        mailings.withdraw_event_mailings(concert)
        notice, _ = mailings.draft_cancellation_notice(mailing_id, None)
        states.send_now(notice.id)
        send_in_process(notice.id)

    step("cancellation", cancellation)
    assert set(by_kind) == set(KINDS)
    return by_kind


def send_in_process(mailing_id: int) -> None:
    """Start a due mailing and send it on this process, as a worker would, closing the run's connections."""
    from mailer.sending.engine import SendingRun
    from mailer.sending.run_setup import build_sender, close_sender, engine_settings

    assert states.start(mailing_id), states.status_of(mailing_id)
    sender = build_sender()
    try:
        SendingRun(mailing_id, "test-worker", sender, engine_settings()).run()
    finally:
        close_sender(sender)
    assert states.status_of(mailing_id) == "sent", db.session.get(Mailing, mailing_id).status
