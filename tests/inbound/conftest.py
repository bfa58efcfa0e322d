"""The inbound listener on a free port, a way to hand it a message over SMTP, and subscribers to bounce."""
from __future__ import annotations

import smtplib
from pathlib import Path

import pytest

from mailer import clock
from mailer.extensions import db
from mailer.models import Subscriber, SubscriberStatus, Subscription, SubscriptionStatus, Topic
from tests.smtp_server import free_port

SAMPLES = Path(__file__).parent / "samples"
BOUNCE_ADDRESS = "news@example.org"  # the tests' MAILER_FROM: the envelope sender bounces come back to
UNSUBSCRIBE_ADDRESS = "unsubscribe@example.org"


def sample(name: str) -> bytes:
    return (SAMPLES / f"{name}.eml").read_bytes()


def add_subscriber(email: str) -> int:
    """A confirmed subscriber of every topic; call inside an app context."""
    subscriber = Subscriber(email=email, status=SubscriberStatus.CONFIRMED, language="da",
                            confirmed_at=clock.utcnow())
    for topic in db.session.scalars(db.select(Topic).order_by(Topic.id)):
        subscriber.subscriptions.append(Subscription(topic_id=topic.id, status=SubscriptionStatus.CONFIRMED))
    db.session.add(subscriber)
    db.session.commit()
    return subscriber.id


def hand_over(port: int, raw: bytes, rcpt: str = BOUNCE_ADDRESS) -> tuple[int, str]:
    """Deliver one message as an MTA would, with the null sender; return the reply to DATA."""
    with smtplib.SMTP("127.0.0.1", port, timeout=30) as smtp:
        smtp.ehlo("mx.example.org")
        smtp.mail("<>")
        code, _ = smtp.rcpt(rcpt)
        assert code == 250
        code, message = smtp.data(raw)
        return code, message.decode()


def start_listener(app):
    from mailer.inbound.listener import make_controller

    controller = make_controller(app, "127.0.0.1", free_port())
    controller.start()
    return controller


@pytest.fixture
def listener(app):
    """The real listener for the test app; yields its port."""
    controller = start_listener(app)
    yield controller.port
    controller.stop()
