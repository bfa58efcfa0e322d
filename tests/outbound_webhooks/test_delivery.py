"""Outgoing webhooks against a real HTTP receiver: signed, retried after a failure, disabled after many."""
from __future__ import annotations

import json
import logging
import re
from datetime import timedelta
from pathlib import Path

from mailer.extensions import db
from mailer.models import (
    Subscriber,
    SubscriberStatus,
    WebhookAttempt,
    WebhookDelivery,
    WebhookDeliveryStatus,
    WebhookEndpoint,
)
from mailer.models.consent import ConsentChannel
from mailer.outbound_webhooks import endpoints
from mailer.subscribers import lifecycle
from mailer.subscribers.consent import Origin
from mailer.tasks.outbound_webhooks import deliver_webhook, queue_due_webhook_deliveries
from tests.factories import create_subscriber

DOCS = Path(__file__).resolve().parents[2] / "docs" / "WEBHOOKS.md"


def documented_verifier():
    """The verification snippet of docs/WEBHOOKS.md, run as a receiver would copy it."""
    code = re.search(r"```python\n(.*?)```", DOCS.read_text(), re.S).group(1)
    namespace: dict = {}
    exec(code, namespace)  # noqa: S102 - our own documentation
    return namespace["verify_mailer_webhook"]


def register(url: str, *events: str) -> tuple[int, str]:
    endpoint = endpoints.register(url, events or ("subscriber.confirmed",), created_by_id=None)
    db.session.commit()
    return endpoint.id, endpoint.secret


def confirm(email: str) -> None:
    subscriber_id = create_subscriber(email, "events-aarhus", status=SubscriberStatus.PENDING, name="Ida")
    assert lifecycle.confirm_subscription(db.session.get(Subscriber, subscriber_id), Origin(ConsentChannel.LINK))
    db.session.commit()


def attempts_of(endpoint_id: int) -> list[tuple[int | None, str | None]]:
    return [(a.status_code, a.error) for a in reversed(endpoints.recent_attempts(endpoint_id))]


def test_a_confirmation_reaches_the_receiver_signed_and_the_documented_check_verifies_it(
        local_webhooks, receiver, run_tasks):
    with local_webhooks.app_context():
        endpoint_id, secret = register(receiver.url, "subscriber.confirmed", "subscriber.unsubscribed")
        confirm("ida@example.org")
        assert run_tasks() == 1
        ((path, headers, body),) = receiver.requests
        verify = documented_verifier()
        assert path == "/hooks/mailer" and verify(secret, headers, body)
        assert not verify(secret, headers, body + b" ")                     # a changed body fails
        assert not verify("whsec_another", headers, body)                  # another secret fails
        assert not verify(secret, headers, body, now=int(headers["X-Mailer-Timestamp"]) + 301)  # a replay fails
        event = json.loads(body)
        assert (event["type"], headers["X-Mailer-Event"], headers["X-Mailer-Event-Id"]) == (
            "subscriber.confirmed", "subscriber.confirmed", event["id"])
        assert event["data"]["subscriber"]["email"] == "ida@example.org"
        assert event["data"]["subscriber"]["status"] == "confirmed"
        assert event["data"]["confirmed_topics"] == ["events-aarhus"]
        assert attempts_of(endpoint_id) == [(200, None)]
        delivery = db.session.scalar(db.select(WebhookDelivery))
        assert (delivery.status, delivery.payload) == (WebhookDeliveryStatus.DELIVERED, "")  # no personal data kept


def test_a_500_is_retried_after_the_backoff_and_then_delivered(local_webhooks, receiver, run_tasks, clock):
    receiver.answers.extend([500])
    with local_webhooks.app_context():
        endpoint_id, _ = register(receiver.url)
        confirm("ida@example.org")
        assert run_tasks() == 2  # the first try, and its retry arriving early: not due yet, nothing sent
        assert len(receiver.requests) == 1
        assert attempts_of(endpoint_id) == [(500, "answered HTTP 500")]
        delivery = db.session.scalar(db.select(WebhookDelivery))
        assert delivery.next_attempt_at == clock() + timedelta(seconds=30)

        clock.advance(timedelta(seconds=30))
        deliver_webhook.apply(args=(delivery.id,), throw=True)  # the retry, at its time
        assert len(receiver.requests) == 2
        assert receiver.requests[0][2] == receiver.requests[1][2]  # the same event, sent again
        assert attempts_of(endpoint_id) == [(500, "answered HTTP 500"), (200, None)]
        db.session.expire_all()
        assert db.session.get(WebhookDelivery, delivery.id).status == WebhookDeliveryStatus.DELIVERED
        assert db.session.get(WebhookEndpoint, endpoint_id).consecutive_failures == 0


def test_a_lost_retry_is_queued_again_by_the_beat(local_webhooks, receiver, run_tasks, clock):
    receiver.answers.extend([503])
    with local_webhooks.app_context():
        register(receiver.url)
        confirm("ida@example.org")
        run_tasks()
        clock.advance(timedelta(minutes=2))
        assert queue_due_webhook_deliveries.apply().get() == 1
        run_tasks()
        assert len(receiver.requests) == 2
        assert db.session.scalar(db.select(WebhookDelivery.status)) == WebhookDeliveryStatus.DELIVERED


def test_an_endpoint_that_keeps_failing_is_disabled_and_staff_are_told(local_webhooks, receiver, run_tasks, clock,
                                                                      admin, caplog):
    local_webhooks.config["WEBHOOK_DISABLE_AFTER"] = 3
    receiver.answers.extend([500] * 10)
    with local_webhooks.app_context():
        endpoint_id, _ = register(receiver.url)
        confirm("ida@example.org")
        run_tasks()
        delivery_id = db.session.scalar(db.select(WebhookDelivery.id))
        with caplog.at_level(logging.WARNING, logger="mailer.outbound_webhooks"):
            for wait in (30, 60):
                clock.advance(timedelta(seconds=wait))
                deliver_webhook.apply(args=(delivery_id,), throw=True)
        assert len(receiver.requests) == 3
        db.session.expire_all()
        endpoint = db.session.get(WebhookEndpoint, endpoint_id)
        assert not endpoint.active and endpoint.disabled_reason.startswith("3 failed tries in a row")
        assert db.session.get(WebhookDelivery, delivery_id).status == WebhookDeliveryStatus.ABANDONED
        assert any(f"webhook endpoint {endpoint_id} disabled" in r.getMessage() for r in caplog.records)

        # Nothing more is sent to it, not even a retry that was already queued.
        clock.advance(timedelta(hours=2))
        deliver_webhook.apply(args=(delivery_id,), throw=True)
        confirm("bo@example.org")
        run_tasks()  # a retry queued before the endpoint was disabled finds nothing to do
        assert len(receiver.requests) == 3
        assert db.session.scalar(db.select(db.func.count()).select_from(WebhookDelivery)) == 1  # no new event

    listing = admin.get("/staff/webhooks/").get_data(as_text=True)
    assert "Disabled webhooks: 1" in listing and "3 failed tries in a row" in listing
    page = admin.get(f"/staff/webhooks/{endpoint_id}").get_data(as_text=True)
    assert page.count("<td>HTTP 500</td>") == 3 and "Disabled since" in page


def test_a_private_address_is_refused_when_registered_and_again_when_sent(app, receiver, run_tasks, admin):
    with app.app_context():
        for url in (receiver.url, "http://10.1.2.3/hook", "http://169.254.169.254/latest/meta-data",
                    "http://[::1]:8080/", "http://[::ffff:127.0.0.1]/", "http://localhost/", "http://0.0.0.0/"):
            try:
                register(url)
            except endpoints.RefusedTarget as refused:
                assert refused.kind == "private", url
            else:
                raise AssertionError(f"{url} was accepted")
        assert db.session.scalar(db.select(db.func.count()).select_from(WebhookEndpoint)) == 0

    page = admin.post("/staff/webhooks/", data={"csrf_token": _csrf(admin), "url": receiver.url,
                                                "events": ["subscriber.confirmed"]})
    assert page.status_code == 400
    assert "127.0.0.1, a private, loopback or link-local address" in page.get_data(as_text=True)

    # Registered while the operator allowed it, refused once they no longer do: checked before every try.
    app.config["WEBHOOK_ALLOW_PRIVATE"] = True
    with app.app_context():
        endpoint_id, _ = register(receiver.url)
        app.config["WEBHOOK_ALLOW_PRIVATE"] = False
        confirm("ida@example.org")
        run_tasks()
        assert receiver.requests == []
        ((code, error),) = attempts_of(endpoint_id)
        assert code is None and "private, loopback or link-local address 127.0.0.1" in error


def _csrf(client) -> str:
    from tests.helpers import form_fields

    return form_fields(client.get("/staff/webhooks/").get_data(as_text=True))["csrf_token"]
