"""Each event is emitted where its change is made, in the same transaction, and only for endpoints that want it."""
from __future__ import annotations

import json

from mailer.extensions import db
from mailer.models import Subscriber, Topic, WebhookAttempt, WebhookDelivery, WebhookEndpoint
from mailer.models.consent import ConsentChannel
from mailer.subscribers import bounces, lifecycle
from mailer.subscribers.consent import Origin
from tests.factories import create_mailing, create_subscriber, create_subscribers
from tests.helpers import send_in_process


def emitted() -> list[dict]:
    return [json.loads(p) for p in db.session.scalars(db.select(WebhookDelivery.payload).order_by(WebhookDelivery.id))]


def listen(*events: str, active: bool = True) -> None:
    """An endpoint as registered (the address check is tested in test_delivery.py)."""
    db.session.add(WebhookEndpoint(url="https://crm.example.org/hooks", events=" ".join(events), secret="whsec_x",
                                   active=active))
    db.session.commit()


def test_leaving_emits_subscriber_unsubscribed_with_the_topics_left_and_the_channel(app, run_tasks):
    with app.app_context():
        listen("subscriber.unsubscribed")
        subscriber_id = create_subscriber("ida@example.org", "events-aarhus", "newsletter")
        lifecycle.unsubscribe(db.session.get(Subscriber, subscriber_id), Origin(ConsentChannel.ONE_CLICK))
        db.session.commit()
        (event,) = emitted()
        assert event["type"] == "subscriber.unsubscribed"
        assert event["data"]["left_topics"] == ["events-aarhus", "newsletter"]
        assert event["data"]["channel"] == "one-click"
        assert event["data"]["subscriber"]["status"] == "unsubscribed"
        # Leaving again changes nothing and emits nothing.
        lifecycle.unsubscribe(db.session.get(Subscriber, subscriber_id), Origin(ConsentChannel.ONE_CLICK))
        db.session.commit()
        assert len(emitted()) == 1


def test_a_hard_bounce_emits_subscriber_bounced_once(app):
    with app.app_context():
        listen("subscriber.bounced")
        subscriber_id = create_subscriber("gone@example.org")
        for _ in range(2):  # bounce reports are replayed
            bounces.record_hard_bounce(db.session.get(Subscriber, subscriber_id), "550 5.1.1 no such user")
            db.session.commit()
        (event,) = emitted()
        assert event["type"] == "subscriber.bounced" and event["data"]["reason"] == "550 5.1.1 no such user"
        assert event["data"]["subscriber"]["email"] == "gone@example.org"


def test_a_mailing_that_has_gone_out_emits_mailing_sent_with_its_ledger_counts(app):
    with app.app_context():
        listen("mailing.sent")
        create_subscribers(3, "newsletter")
        mailing_id = create_mailing("newsletter", subject="Nyt fra os")
        from mailer.mailings import states

        states.send_now(mailing_id)
        db.session.commit()
        send_in_process(mailing_id)
        (event,) = emitted()
        assert event["type"] == "mailing.sent"
        assert event["data"]["mailing"]["id"] == mailing_id
        assert event["data"]["mailing"]["subject"] == {"da": "Nyt fra os", "en": "Nyt fra os"}  # English falls back
        assert event["data"]["mailing"]["deliveries"] == {"sent": 3}


def test_only_active_endpoints_that_chose_the_event_get_it(app):
    with app.app_context():
        listen("subscriber.bounced")
        listen("subscriber.confirmed", active=False)
        create_subscriber("ida@example.org", status="pending")
        subscriber = db.session.scalar(db.select(Subscriber))
        lifecycle.confirm_subscription(subscriber, Origin(ConsentChannel.LINK))
        db.session.commit()
        assert emitted() == []


def test_a_change_that_is_rolled_back_emits_and_queues_nothing(app, run_tasks):
    with app.app_context():
        listen("subscriber.confirmed")
        create_subscriber("ida@example.org", status="pending")
        subscriber = db.session.scalar(db.select(Subscriber))
        lifecycle.confirm_subscription(subscriber, Origin(ConsentChannel.LINK))
        db.session.rollback()
        assert emitted() == []
        assert run_tasks() == 0
        # The next transaction that commits queues only its own deliveries.
        subscriber = db.session.scalar(db.select(Subscriber))
        lifecycle.confirm_subscription(subscriber, Origin(ConsentChannel.LINK))
        db.session.commit()
        assert len(emitted()) == 1
        run_tasks()
        assert db.session.scalar(db.select(db.func.count()).select_from(WebhookAttempt)) == 1  # one try, of it


def test_an_erasure_removes_the_address_and_name_from_every_event_kept_about_the_reader(app):
    """GDPR erasure: events still waiting to go out, and those already sent, no longer hold who the reader was."""
    from mailer.subscribers import gdpr

    with app.app_context():
        listen("subscriber.unsubscribed", "subscriber.bounced")
        erased = create_subscriber("ida.hansen@example.org", "newsletter", name="Ida Hansen")
        kept = create_subscriber("bo@example.org", "newsletter", name="Bo")
        for subscriber_id in (erased, kept):
            lifecycle.unsubscribe(db.session.get(Subscriber, subscriber_id), Origin(ConsentChannel.ONE_CLICK))
        db.session.commit()
        first = db.session.scalars(db.select(WebhookDelivery).order_by(WebhookDelivery.id)).first()
        first.status = "delivered"  # one already sent, one still waiting
        db.session.commit()
        public_id = db.session.get(Subscriber, erased).public_id
        gdpr.erase_subscriber(erased, "admin@example.org")
        db.session.commit()
        payloads = list(db.session.scalars(db.select(WebhookDelivery.payload).order_by(WebhookDelivery.id)))
        assert len(payloads) == 2
        assert not any("ida.hansen" in p or "Ida Hansen" in p for p in payloads)
        ida, bo = (json.loads(p)["data"]["subscriber"] for p in payloads)
        assert ida["id"] == public_id and ida["email"] is None and ida["name"] is None and ida["erased"] is True
        assert bo["email"] == "bo@example.org" and bo["name"] == "Bo"


def test_consent_recorded_through_the_api_emits_subscriber_confirmed_once(app):
    """A ticket shop's consent (POST /api/v1/subscribers with `consent`) confirms like the reader's own click."""
    with app.app_context():
        listen("subscriber.confirmed")
        newsletter, aarhus = (db.session.scalar(db.select(Topic.id).filter_by(slug=slug))
                              for slug in ("newsletter", "events-aarhus"))
        for topics in ([newsletter], [newsletter, aarhus]):  # the second call adds a topic: not a new confirmation
            lifecycle.record_imported_consent(email="ida@example.org", name="Ida", language="da", topic_ids=topics,
                                              frequency="announcements", origin=Origin(ConsentChannel.API),
                                              source="billetshop", obtained_at=None)
            db.session.commit()
        (event,) = emitted()
        assert event["type"] == "subscriber.confirmed"
        assert event["data"]["subscriber"]["email"] == "ida@example.org"
        assert event["data"]["confirmed_topics"] == ["newsletter"]
