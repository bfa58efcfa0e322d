"""GDPR: a subscriber's data as JSON, and erasure that leaves only a hashed tombstone."""
from __future__ import annotations

import hashlib
import io
import json

from sqlalchemy import func, select

from mailer.extensions import db
from mailer.models import (
    ConsentChannel, ConsentEvent, Delivery, DeliveryStatus, ErasedSubscriber, Subscriber, Subscription,
)
from mailer.models.types import utcnow
from mailer.subscribers import gdpr
from mailer.subscribers.consent import Origin
from mailer.subscribers.lifecycle import revoke_tokens
from tests.factories import create_mailing, create_subscribers
from tests.helpers import csrf_token


def make_reader(app) -> int:
    """A confirmed subscriber with two ledger rows and one delivery."""
    with app.app_context():
        subscriber_id = create_subscribers(1, prefix="Reader")[0]
        subscriber = db.session.get(Subscriber, subscriber_id)
        revoke_tokens(subscriber, Origin(ConsentChannel.STAFF, ip="192.0.2.7"))
        revoke_tokens(subscriber, Origin(ConsentChannel.STAFF))
        mailing_id = create_mailing(subject="Workshop i Aarhus")
        db.session.add(Delivery(mailing_id=mailing_id, subscriber_id=subscriber_id,
                                status=DeliveryStatus.SENT, sent_at=utcnow()))
        db.session.commit()
        return subscriber_id


def test_export_json_holds_profile_topics_ledger_and_deliveries(app, admin):
    subscriber_id = make_reader(app)
    response = admin.get(f"/staff/subscribers/{subscriber_id}/export.json")
    assert response.status_code == 200
    assert response.headers["Content-Disposition"] == f'attachment; filename="subscriber-{subscriber_id}.json"'
    data = json.loads(response.get_data(as_text=True))
    assert data["profile"]["email"] == "Reader0@example.org" and data["profile"]["status"] == "confirmed"
    assert data["subscriptions"] == [{"topic": "newsletter", "status": "confirmed",
                                      "created_at": data["subscriptions"][0]["created_at"],
                                      "updated_at": data["subscriptions"][0]["updated_at"]}]
    assert [(e["action"], e["channel"], e["ip"]) for e in data["consent_ledger"]] == [
        ("tokens_revoked", "staff", "192.0.2.7"), ("tokens_revoked", "staff", None)]
    assert [(d["subject"], d["status"]) for d in data["deliveries"]] == [("Workshop i Aarhus", "sent")]
    assert data["deliveries"][0]["sent_at"]
    assert admin.get("/staff/subscribers/999999/export.json").status_code == 404


def test_erase_needs_the_address_typed(app, admin):
    subscriber_id = make_reader(app)
    token = csrf_token(admin)
    response = admin.post(f"/staff/subscribers/{subscriber_id}/erase", data={"csrf_token": token, "confirm_email": "someone@else.org"})
    assert response.status_code == 400
    assert "That is not this subscriber&#39;s address." in response.get_data(as_text=True)
    response = admin.post(f"/staff/subscribers/{subscriber_id}/erase", data={"csrf_token": token, "confirm_email": ""})
    assert response.status_code == 400
    with app.app_context():
        assert db.session.get(Subscriber, subscriber_id) is not None


def test_erase_leaves_only_a_hashed_tombstone_and_blocks_a_reimport(app, admin):
    subscriber_id = make_reader(app)
    response = admin.post(f"/staff/subscribers/{subscriber_id}/erase",
                          data={"csrf_token": csrf_token(admin), "confirm_email": " reader0@EXAMPLE.org "})
    assert response.status_code == 303
    assert "has been erased" in admin.get(response.headers["Location"]).get_data(as_text=True)
    with app.app_context():
        assert db.session.get(Subscriber, subscriber_id) is None
        for model in (Subscription, ConsentEvent, Delivery):
            assert db.session.scalar(select(func.count()).select_from(model).filter_by(subscriber_id=subscriber_id)) == 0
        tombstone = db.session.scalars(select(ErasedSubscriber)).one()
        assert tombstone.email_hash == hashlib.sha256(b"reader0@example.org").hexdigest()
        assert gdpr.is_erased("READER0@example.org") and not gdpr.is_erased("reader1@example.org")

    data = b"email,topics\nreader0@example.org,newsletter\nreader1@example.org,newsletter\n"
    page = admin.post("/staff/subscribers/import", content_type="multipart/form-data",
                      data={"csrf_token": csrf_token(admin), "file": (io.BytesIO(data), "again.csv")})
    text = page.get_data(as_text=True)
    assert '<tr data-row="2" data-reason="erased">' in text
    assert "erased at the person&#39;s request" in text
    with app.app_context():
        emails = set(db.session.scalars(select(Subscriber.email)))
        assert emails == {"reader1@example.org"}


def test_erasing_twice_keeps_one_tombstone(app):
    with app.app_context():
        first = create_subscribers(1, prefix="twice")[0]
        gdpr.erase_subscriber(first, "admin@example.org")
        db.session.commit()
        # The person signs up again by themselves, and is erased again.
        second = create_subscribers(1, prefix="twice")[0]
        gdpr.erase_subscriber(second, "admin@example.org")
        db.session.commit()
        assert db.session.scalar(select(func.count()).select_from(ErasedSubscriber)) == 1
