"""VERP: each list mail's envelope sender names its delivery (or subscriber), signed, so a bounce says whom it is about."""
from __future__ import annotations

import re

import pytest

from mailer import outgoing
from mailer.extensions import db
from mailer.mailings import states
from mailer.models import Delivery, Subscriber
from mailer.sending.engine import SendingRun
from mailer.sending.run_setup import build_sender, engine_settings
from mailer.tokens import BounceReference, BounceTokenSigner, TokenPurpose, make_token
from tests.factories import create_mailing, create_subscribers
from tests.helpers import parse_mail

LOCAL_PART = re.compile(r"[A-Za-z0-9._+-]{1,64}")


def _local_part(address: str) -> str:
    local, _, domain = address.rpartition("@")
    assert domain == "example.org"
    return local


def test_a_delivery_and_a_subscriber_round_trip(app):
    with app.app_context():
        for delivery_id in (1, 987_654_321, 10**18 - 1):
            address = outgoing.delivery_return_paths()(delivery_id)
            assert address.startswith("bounces+d") and LOCAL_PART.fullmatch(_local_part(address))
            assert outgoing.read_bounce_address(address) == BounceReference(delivery_id=delivery_id)
        public_id = "A" * 32  # the longest a public id can be
        address = outgoing.subscriber_return_path(public_id)
        assert len(_local_part(address)) <= 64 and LOCAL_PART.fullmatch(_local_part(address))
        assert outgoing.read_bounce_address(f"<{address}>") == BounceReference(subscriber_public_id=public_id)


def test_the_longest_configurable_local_part_still_fits_64(app):
    app.config["BOUNCE_LOCALPART"] = "b" * 13
    with app.app_context():
        address = outgoing.subscriber_return_path("x" * 32)
        assert len(_local_part(address)) == 64


@pytest.mark.parametrize("tamper", [
    lambda a: a.replace("+d42.", "+d43."),                     # another delivery
    lambda a: a[:a.index("@") - 1] + ("A" if a[a.index("@") - 1] != "A" else "B") + a[a.index("@"):],  # signature
    lambda a: a.replace("+d42.", "+s42."),                     # another kind
    lambda a: a.split(".", 1)[0] + "@example.org",             # no signature
    lambda a: a.replace("+", "-"),                             # no token
    lambda a: a.split("@")[0],                                 # no domain
])
def test_a_tampered_address_is_refused(app, tamper):
    with app.app_context():
        address = outgoing.delivery_return_paths()(42)
        assert outgoing.read_bounce_address(address) is not None
        assert outgoing.read_bounce_address(tamper(address)) is None


def test_another_purposes_token_is_refused(app):
    with app.app_context():
        subscriber = Subscriber(email="verp@example.org", language="da")
        db.session.add(subscriber)
        db.session.commit()
        manage = make_token(TokenPurpose.MANAGE, subscriber)
        assert outgoing.read_bounce_address(f"bounces+{manage}@example.org") is None
        # The same compact form, signed under another purpose's salt, does not pass either.
        unsubscribe_signer = BounceTokenSigner()
        from mailer.tokens import _serializer
        signer = _serializer(TokenPurpose.UNSUBSCRIBE).make_signer()
        unsubscribe_signer._keys = [signer.derive_key(key) for key in signer.secret_keys]
        forged = unsubscribe_signer.sign_delivery(42)
        assert outgoing.read_bounce_address(f"bounces+{forged}@example.org") is None


def test_an_address_signed_before_a_key_rotation_still_reads(app):
    with app.app_context():
        address = outgoing.delivery_return_paths()(7)
    app.config["SECRET_KEYS"] = ["newest-key", *app.config["SECRET_KEYS"]]
    with app.app_context():
        assert outgoing.read_bounce_address(address) == BounceReference(delivery_id=7)
        assert outgoing.delivery_return_paths()(7) != address


def test_each_mailing_message_goes_out_with_its_own_delivery_in_the_return_path(app, outbox):
    with app.app_context():
        create_subscribers(3)
        mailing_id = create_mailing("newsletter")
        states.send_now(mailing_id)
        assert states.start(mailing_id)
        SendingRun(mailing_id, "test-worker", build_sender(), engine_settings()).run()
        deliveries = dict(db.session.execute(
            db.select(Subscriber.email, Delivery.id).join(Delivery, Delivery.subscriber_id == Subscriber.id)
            .where(Delivery.mailing_id == mailing_id)).all())
        assert len(outbox.sent) == 3
        for sender, recipient, _data in outbox.sent:
            assert sender.startswith("bounces+") and sender.endswith("@example.org")
            assert outgoing.read_bounce_address(sender) == BounceReference(delivery_id=deliveries[recipient])


def test_welcome_and_manage_link_mails_are_list_mail_and_the_opt_in_is_not(app, outbox):
    from mailer.subscribers.owed_mails import _send
    from mailer.composing.lifecycle_mails import confirm_mail, manage_link_mail, welcome_mail

    with app.app_context():
        [subscriber_id] = create_subscribers(1)
        subscriber = db.session.get(Subscriber, subscriber_id)
        _send("confirm", subscriber, confirm_mail(subscriber, ["Nyheder"]), outbox)
        _send("welcome", subscriber, welcome_mail(subscriber, ["Nyheder"], []), outbox)
        _send("manage_link", subscriber, manage_link_mail(subscriber), outbox)
        public_id = subscriber.public_id
        list_id = outgoing.list_id()
    (confirm_from, _, confirm), *list_mails = outbox.sent
    assert confirm_from == "news@example.org" and parse_mail(confirm)["List-Id"] is None
    for sender, _, data in list_mails:
        assert parse_mail(data)["List-Id"] == list_id
        with app.app_context():
            assert outgoing.read_bounce_address(sender) == BounceReference(subscriber_public_id=public_id)


def test_with_verp_off_list_mail_goes_out_from_the_plain_sender(app, outbox):
    app.config["VERP"] = False
    with app.app_context():
        create_subscribers(1)
        mailing_id = create_mailing("newsletter")
        states.send_now(mailing_id)
        assert states.start(mailing_id)
        SendingRun(mailing_id, "test-worker", build_sender(), engine_settings()).run()
        assert outgoing.subscriber_return_path("abc") == "news@example.org"
    assert [sender for sender, _, _ in outbox.sent] == ["news@example.org"]
