"""Bounce and complaint reports: signed webhook in, no more mail out, and the ledger says why."""
from __future__ import annotations

import hashlib
import hmac
import itertools
import json
import time

import pytest

from mailer.extensions import db
from mailer.models import (
    ConsentAction, ConsentChannel, ConsentEvent, Subscriber, SubscriberStatus, Subscription, SubscriptionStatus, Topic,
)
from mailer.subscribers.bounces import handle_bounce_event, record_complaint, record_hard_bounce

SECRET = "test-webhook-secret"
ADDRESS = "Bounce.Me@example.org"


def sign(secret: str, timestamp: str, body: bytes) -> str:
    """The documented scheme: HMAC-SHA256 of "<timestamp>." followed by the raw body."""
    return "sha256=" + hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()


@pytest.fixture
def webhook_app(app):
    """The app with the webhook blueprint registered and a secret configured."""
    from mailer.webhooks import bp

    if "webhooks" not in app.blueprints:
        app.register_blueprint(bp)
    app.config["BOUNCE_WEBHOOK_SECRET"] = SECRET
    return app


@pytest.fixture
def webhook(webhook_app, client):
    """POST a body (an object, a list, or raw bytes) to the webhook, signed unless told otherwise."""

    seconds_ago = itertools.count()  # each delivery is signed afresh, as a provider's retry is

    def post(payload, *, secret: str | None = SECRET, signature: str | None = None, timestamp: str | None = None):
        body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
        timestamp = timestamp or str(int(time.time()) - next(seconds_ago))
        headers = {"X-Mailer-Timestamp": timestamp}
        if signature is not None:
            headers["X-Mailer-Signature"] = signature
        elif secret is not None:
            headers["X-Mailer-Signature"] = sign(secret, timestamp, body)
        return client.post("/webhooks/bounces", data=body, headers=headers, content_type="application/json")

    return post


@pytest.fixture
def subscriber_id(app) -> int:
    """A confirmed subscriber of two topics."""
    with app.app_context():
        topics = list(db.session.scalars(db.select(Topic).order_by(Topic.id).limit(2)))
        assert len(topics) == 2
        subscriber = Subscriber(email=ADDRESS, status=SubscriberStatus.CONFIRMED, language="en")
        for topic in topics:
            subscriber.subscriptions.append(Subscription(topic_id=topic.id, status=SubscriptionStatus.CONFIRMED))
        db.session.add(subscriber)
        db.session.commit()
        return subscriber.id


def state(app, subscriber_id: int) -> tuple[str, list[str], list[tuple]]:
    """The subscriber's status, its subscriptions' statuses and its ledger rows."""
    with app.app_context():
        subscriber = db.session.get(Subscriber, subscriber_id)
        ledger = [(e.action, e.channel, e.topic_id, e.detail) for e in db.session.scalars(
            db.select(ConsentEvent).filter_by(subscriber_id=subscriber_id).order_by(ConsentEvent.id))]
        return subscriber.status, [s.status for s in subscriber.subscriptions], ledger


# --- HTTP ----------------------------------------------------------------------------------


def test_hard_bounce_marks_the_subscriber_bounced(webhook, app, subscriber_id):
    response = webhook({"type": "bounce", "email": "bounce.me@EXAMPLE.org", "reason": "550 5.1.1 user unknown"})
    assert response.status_code == 200
    assert response.get_json() == {"results": ["bounced"]}
    status, subscriptions, ledger = state(app, subscriber_id)
    assert status == SubscriberStatus.BOUNCED
    assert ledger == [(ConsentAction.BOUNCED, ConsentChannel.BOUNCE, None, "550 5.1.1 user unknown")]


def test_complaint_unsubscribes_from_every_topic(webhook, app, subscriber_id):
    response = webhook({"type": "complaint", "email": ADDRESS, "reason": "abuse report"})
    assert response.get_json() == {"results": ["unsubscribed"]}
    status, subscriptions, ledger = state(app, subscriber_id)
    assert status == SubscriberStatus.UNSUBSCRIBED
    assert subscriptions == [SubscriptionStatus.UNSUBSCRIBED] * 2
    assert len(ledger) == 2
    assert all(row[:2] == (ConsentAction.UNSUBSCRIBE, ConsentChannel.BOUNCE) for row in ledger)
    assert all(row[2] is not None and row[3] == "complaint: abuse report" for row in ledger)


@pytest.mark.parametrize("event, outcome", [
    ({"type": "bounce", "email": ADDRESS, "reason": "550 no such user"}, "bounced"),
    ({"type": "complaint", "email": ADDRESS}, "unsubscribed"),
])
def test_a_replayed_report_changes_nothing(webhook, app, subscriber_id, event, outcome):
    assert webhook(event).get_json() == {"results": [outcome]}
    before = state(app, subscriber_id)
    assert webhook(event).get_json() == {"results": [outcome]}
    assert webhook([event, event]).get_json() == {"results": [outcome, outcome]}
    assert state(app, subscriber_id) == before


def test_a_batch_reports_each_outcome(webhook, app, subscriber_id):
    response = webhook([
        {"type": "bounce", "email": ADDRESS, "bounce_type": "soft", "reason": "452 mailbox full"},
        {"type": "bounce", "email": "nobody@example.org"},
        {"type": "complaint", "email": ADDRESS},
        {"type": "bounce", "email": ADDRESS, "bounce_type": "hard"},
    ])
    assert response.get_json() == {"results": ["ignored", "unknown address", "unsubscribed", "bounced"]}
    status, _, ledger = state(app, subscriber_id)
    assert status == SubscriberStatus.BOUNCED
    assert [row[0] for row in ledger] == [ConsentAction.UNSUBSCRIBE] * 2 + [ConsentAction.BOUNCED]


def test_a_soft_bounce_is_only_logged(webhook, app, subscriber_id):
    before = state(app, subscriber_id)
    response = webhook({"type": "bounce", "email": ADDRESS, "bounce_type": "soft", "reason": "452 mailbox full"})
    assert response.get_json() == {"results": ["ignored"]}
    assert state(app, subscriber_id) == before


def test_unknown_address_is_answered_200(webhook):
    response = webhook({"type": "bounce", "email": "stranger@example.org"})
    assert response.status_code == 200
    assert response.get_json() == {"results": ["unknown address"]}


@pytest.mark.parametrize("signature", [
    "sha256=" + "0" * 64,
    "sha256=" + hmac.new(b"another secret", b"x", hashlib.sha256).hexdigest(),
    "sha1=abc",
    "sha256=",
    "sha256=ÆØÅ not hex",
    "",
])
def test_a_wrong_signature_is_refused_and_changes_nothing(webhook, app, subscriber_id, signature):
    before = state(app, subscriber_id)
    response = webhook({"type": "bounce", "email": ADDRESS}, signature=signature)
    assert response.status_code == 403
    assert "X-Mailer-Signature" in response.get_json()["error"]
    assert state(app, subscriber_id) == before


def test_a_body_signed_with_another_secret_is_refused(webhook, app, subscriber_id):
    before = state(app, subscriber_id)
    assert webhook({"type": "bounce", "email": ADDRESS}, secret="guessed").status_code == 403
    assert state(app, subscriber_id) == before


def test_an_unsigned_report_is_refused(webhook, app, subscriber_id):
    before = state(app, subscriber_id)
    response = webhook({"type": "complaint", "email": ADDRESS}, secret=None)
    assert response.status_code == 403
    assert response.is_json
    assert state(app, subscriber_id) == before


def test_the_endpoint_is_off_without_a_secret(webhook_app, webhook, app, subscriber_id):
    webhook_app.config["BOUNCE_WEBHOOK_SECRET"] = None
    before = state(app, subscriber_id)
    assert webhook({"type": "bounce", "email": ADDRESS}).status_code == 404
    assert state(app, subscriber_id) == before


def test_only_post_is_allowed(webhook_app, client):
    assert client.get("/webhooks/bounces").status_code == 405


BAD_BODIES = {
    "not JSON": (b"{not json", "not valid JSON"),
    "not UTF-8": (b'{"type": "bounce", "email": "\xff@example.org"}', "not valid JSON"),
    "empty body": (b"", "not valid JSON"),
    "deep nesting": (b"[" * 20000 + b"]" * 20000, None),
    "a string": ("hello", "must be a JSON object"),
    "a number": (42, "must be a JSON object"),
    "null": (None, "must be a JSON object"),
    "a list of strings": (["bounce"], "event 0: an event must be a JSON object"),
    "unknown type": ({"type": "delivered", "email": ADDRESS}, '"type" must be one of bounce, complaint'),
    "no type": ({"email": ADDRESS}, '"type" is missing'),
    "type not a string": ({"type": ["bounce"], "email": ADDRESS}, '"type" must be a string'),
    "no email": ({"type": "bounce"}, '"email" is missing'),
    "empty email": ({"type": "bounce", "email": " "}, '"email" is empty'),
    "email not a string": ({"type": "bounce", "email": 7}, '"email" must be a string'),
    "email not an address": ({"type": "bounce", "email": "nobody"}, '"email" is not an email address'),
    "email with CR LF": ({"type": "bounce", "email": "a@example.org\r\nBcc: b@example.org"}, "not an email address"),
    "overlong email": ({"type": "bounce", "email": "a" * 250 + "@example.org"}, "not an email address"),
    "reason not a string": ({"type": "bounce", "email": ADDRESS, "reason": {"code": 550}}, '"reason" must be a string'),
    "unknown bounce type": ({"type": "bounce", "email": ADDRESS, "bounce_type": "medium"}, '"bounce_type" must be'),
}


@pytest.mark.parametrize("case", sorted(BAD_BODIES))
def test_bad_input_gets_a_clear_400(webhook, app, subscriber_id, case):
    body, message = BAD_BODIES[case]
    before = state(app, subscriber_id)
    response = webhook(body)
    assert response.status_code == 400
    error = response.get_json()["error"]
    if message:
        assert message in error
    assert state(app, subscriber_id) == before


def test_one_bad_event_rejects_the_whole_batch(webhook, app, subscriber_id):
    before = state(app, subscriber_id)
    response = webhook([{"type": "complaint", "email": ADDRESS}, {"type": "bounce"}])
    assert response.status_code == 400
    assert response.get_json()["error"] == 'event 1: "email" is missing'
    assert state(app, subscriber_id) == before


def test_an_oversized_body_is_refused(webhook):
    response = webhook(b"[" + b" " * (70 * 1024) + b"]")
    assert response.status_code == 413
    assert response.is_json


def test_no_csrf_token_needed(webhook, app, subscriber_id):
    assert app.config.get("WTF_CSRF_ENABLED", True)  # CSRF is on for the rest of the app
    assert webhook({"type": "bounce", "email": ADDRESS}).status_code == 200


# --- domain --------------------------------------------------------------------------------


def test_record_hard_bounce_is_idempotent(app, subscriber_id):
    with app.app_context():
        subscriber = db.session.get(Subscriber, subscriber_id)
        assert record_hard_bounce(subscriber, "x" * 500) is True
        assert record_hard_bounce(subscriber, "again") is False
        db.session.commit()
    status, subscriptions, ledger = state(app, subscriber_id)
    assert status == SubscriberStatus.BOUNCED
    assert subscriptions == [SubscriptionStatus.CONFIRMED] * 2  # kept, for the record; status stops mail
    assert ledger == [(ConsentAction.BOUNCED, ConsentChannel.BOUNCE, None, "x" * 300)]


def test_record_complaint_is_idempotent(app, subscriber_id):
    with app.app_context():
        subscriber = db.session.get(Subscriber, subscriber_id)
        assert record_complaint(subscriber, "spam button") is True
        db.session.commit()
        assert record_complaint(subscriber, "spam button") is False
        db.session.commit()
    _, _, ledger = state(app, subscriber_id)
    assert len(ledger) == 2 and {row[3] for row in ledger} == {"complaint: spam button"}


def test_complaint_after_a_hard_bounce_still_withdraws_consent(app, subscriber_id):
    with app.app_context():
        subscriber = db.session.get(Subscriber, subscriber_id)
        record_hard_bounce(subscriber, "550")
        db.session.commit()
        assert record_complaint(subscriber, "") is True
        db.session.commit()
    status, subscriptions, ledger = state(app, subscriber_id)
    assert subscriptions == [SubscriptionStatus.UNSUBSCRIBED] * 2
    assert [row[0] for row in ledger] == [ConsentAction.BOUNCED] + [ConsentAction.UNSUBSCRIBE] * 2
    assert ledger[-1][3] == "complaint"


def test_handle_bounce_event_rejects_a_non_object(app):
    with app.app_context(), pytest.raises(ValueError):
        handle_bounce_event(["bounce"])  # type: ignore[arg-type]


# --- Replays (issue 10, item 15) -------------------------------------------------------------


def _signed_headers(body: bytes, timestamp: int) -> dict[str, str]:
    return {"X-Mailer-Timestamp": str(timestamp), "X-Mailer-Signature": sign(SECRET, str(timestamp), body)}


def test_a_replayed_delivery_is_refused(webhook_app, client, app, subscriber_id):
    body = json.dumps({"type": "bounce", "email": ADDRESS, "bounce_type": "soft"}).encode()
    headers = _signed_headers(body, int(time.time()))
    first = client.post("/webhooks/bounces", data=body, headers=headers, content_type="application/json")
    assert first.status_code == 200
    again = client.post("/webhooks/bounces", data=body, headers=headers, content_type="application/json")
    assert again.status_code == 409
    assert "already" in again.get_json()["error"]


@pytest.mark.parametrize("offset", [-301, 301, -3600, 10**6])
def test_a_timestamp_more_than_five_minutes_off_is_refused(webhook_app, client, app, subscriber_id, offset):
    before = state(app, subscriber_id)
    body = json.dumps({"type": "bounce", "email": ADDRESS}).encode()
    headers = _signed_headers(body, int(time.time()) + offset)
    response = client.post("/webhooks/bounces", data=body, headers=headers, content_type="application/json")
    assert response.status_code == 403
    assert "X-Mailer-Timestamp" in response.get_json()["error"]
    assert state(app, subscriber_id) == before


@pytest.mark.parametrize("offset", [-299, 299])
def test_a_timestamp_within_five_minutes_is_accepted(webhook_app, client, subscriber_id, offset):
    body = json.dumps({"type": "bounce", "email": ADDRESS, "bounce_type": "soft"}).encode()
    headers = _signed_headers(body, int(time.time()) + offset)
    assert client.post("/webhooks/bounces", data=body, headers=headers, content_type="application/json").status_code == 200


@pytest.mark.parametrize("timestamp", [None, "", "soon", "1e9", "-1", "9" * 400])
def test_a_missing_or_unreadable_timestamp_is_refused(webhook_app, client, app, subscriber_id, timestamp):
    before = state(app, subscriber_id)
    body = json.dumps({"type": "bounce", "email": ADDRESS}).encode()
    headers = {"X-Mailer-Signature": sign(SECRET, timestamp or "", body)}
    if timestamp is not None:
        headers["X-Mailer-Timestamp"] = timestamp
    response = client.post("/webhooks/bounces", data=body, headers=headers, content_type="application/json")
    assert response.status_code == 403
    assert state(app, subscriber_id) == before


def test_the_signature_covers_the_timestamp(webhook_app, client, app, subscriber_id):
    before = state(app, subscriber_id)
    body = json.dumps({"type": "bounce", "email": ADDRESS}).encode()
    now = int(time.time())
    headers = {"X-Mailer-Timestamp": str(now), "X-Mailer-Signature": sign(SECRET, str(now - 60), body)}
    response = client.post("/webhooks/bounces", data=body, headers=headers, content_type="application/json")
    assert response.status_code == 403
    assert state(app, subscriber_id) == before


def test_a_body_signed_the_old_way_is_refused(webhook_app, client, app, subscriber_id):
    before = state(app, subscriber_id)
    body = json.dumps({"type": "bounce", "email": ADDRESS}).encode()
    headers = {"X-Mailer-Timestamp": str(int(time.time())),
               "X-Mailer-Signature": "sha256=" + hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()}
    assert client.post("/webhooks/bounces", data=body, headers=headers, content_type="application/json").status_code == 403
    assert state(app, subscriber_id) == before


def test_when_the_replay_store_is_away_the_report_is_refused_for_a_retry(webhook, app, subscriber_id, monkeypatch):
    from mailer.extensions import limiter

    def away(*args, **kwargs):
        raise ConnectionError("redis is down")

    monkeypatch.setattr(limiter.storage, "incr", away)
    before = state(app, subscriber_id)
    response = webhook({"type": "bounce", "email": ADDRESS})
    assert response.status_code == 503
    assert state(app, subscriber_id) == before
