"""The real listener over SMTP: each report acted on once, bad input changing nothing, 451 with the database down."""
from __future__ import annotations

import pytest

from mailer import create_app
from mailer.extensions import db
from mailer.models import (
    BounceEvent, BounceKind, ConsentAction, ConsentChannel, ConsentEvent, Delivery, DeliveryStatus, Subscriber,
    SubscriberStatus, SubscriptionStatus,
)
from mailer.tokens import TokenPurpose, make_token
from tests.factories import create_mailing
from tests.inbound.conftest import UNSUBSCRIBE_ADDRESS, add_subscriber, hand_over, sample, start_listener
from tests.inbound.test_classify import EXPECTED, C, H, S
from tests.smtp_server import free_port

OUTCOME = {H: SubscriberStatus.BOUNCED, S: SubscriberStatus.CONFIRMED, C: SubscriberStatus.UNSUBSCRIBED}
EVENT = {H: BounceKind.HARD, S: BounceKind.SOFT, C: BounceKind.COMPLAINT}


def _status(email: str) -> str:
    db.session.expire_all()
    return db.session.scalar(db.select(Subscriber.status).filter_by(email=email))


def _events(subscriber_id: int) -> list[BounceEvent]:
    return list(db.session.scalars(db.select(BounceEvent).filter_by(subscriber_id=subscriber_id).order_by(BounceEvent.id)))


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_every_sample_through_the_listener(app, listener, name):
    kind, addresses, _ = EXPECTED[name]
    with app.app_context():
        ids = {email: add_subscriber(email) for email in addresses}
        bystander = add_subscriber("bystander@example.net")
    assert hand_over(listener, sample(name))[0] == 250
    with app.app_context():
        for email, subscriber_id in ids.items():
            expected_kind = addresses[email]
            if expected_kind in OUTCOME:
                assert _status(email) == OUTCOME[expected_kind]
                assert [e.kind for e in _events(subscriber_id)] == [EVENT[expected_kind]]
            else:  # a delay warning: nothing yet
                assert _status(email) == SubscriberStatus.CONFIRMED and _events(subscriber_id) == []
        assert _status("bystander@example.net") == SubscriberStatus.CONFIRMED and _events(bystander) == []
        if kind not in OUTCOME:
            assert db.session.scalar(db.select(db.func.count(BounceEvent.id))) == 0


def test_a_hard_bounce_marks_the_subscriber_the_ledger_and_the_delivery(app, listener):
    with app.app_context():
        subscriber_id = add_subscriber("niels@example.net")
        mailing_id = create_mailing()
        delivery = Delivery(mailing_id=mailing_id, subscriber_id=subscriber_id, status=DeliveryStatus.SENT,
                            message_id="<postfix_user_unknown.1@news.example.org>")
        db.session.add(delivery)
        db.session.commit()
        delivery_id = delivery.id
    for _ in range(2):  # the MTA hands the same report over twice: recorded once
        assert hand_over(listener, sample("postfix_user_unknown"))[0] == 250
    with app.app_context():
        assert _status("niels@example.net") == SubscriberStatus.BOUNCED
        [event] = _events(subscriber_id)
        assert (event.kind, event.mailing_id, event.delivery_id) == (BounceKind.HARD, mailing_id, delivery_id)
        assert "User unknown in virtual mailbox table" in event.reason
        delivery = db.session.get(Delivery, delivery_id)
        assert delivery.status == DeliveryStatus.BOUNCED and "User unknown" in delivery.last_error
        [ledger] = db.session.scalars(db.select(ConsentEvent).filter_by(subscriber_id=subscriber_id,
                                                                        action=ConsentAction.BOUNCED))
        assert ledger.channel == ConsentChannel.BOUNCE and "5.1.1" in ledger.detail


def _soft(n: int) -> bytes:
    return sample("postfix_mailbox_full").replace(b"postfix_mailbox_full.report@", f"soft{n}.report@".encode())


def test_soft_bounces_make_a_bounce_at_the_limit_within_the_window(app, listener):
    app.config["SOFT_BOUNCE_LIMIT"] = 3
    with app.app_context():
        subscriber_id = add_subscriber("olga@example.net")
    for n in (1, 2, 2):  # the second report handed over twice counts once
        assert hand_over(listener, _soft(n))[0] == 250
    with app.app_context():
        assert _status("olga@example.net") == SubscriberStatus.CONFIRMED
        assert [e.kind for e in _events(subscriber_id)] == [BounceKind.SOFT] * 2
    assert hand_over(listener, _soft(3))[0] == 250
    with app.app_context():
        assert _status("olga@example.net") == SubscriberStatus.BOUNCED
        detail = db.session.scalar(db.select(ConsentEvent.detail).filter_by(
            subscriber_id=subscriber_id, action=ConsentAction.BOUNCED))
        assert detail.startswith("3 soft bounces in 30 days")


def test_soft_bounces_outside_the_window_do_not_count(app, listener):
    from datetime import timedelta

    from mailer import clock

    app.config["SOFT_BOUNCE_LIMIT"] = 2
    with app.app_context():
        subscriber_id = add_subscriber("olga@example.net")
        subscriber = db.session.get(Subscriber, subscriber_id)
        subscriber.confirmed_at = clock.utcnow() - timedelta(days=90)
        db.session.add(BounceEvent(subscriber_id=subscriber_id, kind=BounceKind.SOFT, reason="old",
                                   created_at=clock.utcnow() - timedelta(days=31)))
        db.session.commit()
    assert hand_over(listener, _soft(1))[0] == 250
    with app.app_context():
        assert _status("olga@example.net") == SubscriberStatus.CONFIRMED


def test_a_complaint_unsubscribes_from_everything(app, listener):
    with app.app_context():
        subscriber_id = add_subscriber("johanne@isp.example")
    assert hand_over(listener, sample("arf_rfc5965_abuse"), "abuse@example.org")[0] == 250
    with app.app_context():
        subscriber = db.session.get(Subscriber, subscriber_id)
        assert subscriber.status == SubscriberStatus.UNSUBSCRIBED
        assert all(s.status == SubscriptionStatus.UNSUBSCRIBED for s in subscriber.subscriptions)
        details = set(db.session.scalars(db.select(ConsentEvent.detail).filter_by(
            subscriber_id=subscriber_id, action=ConsentAction.UNSUBSCRIBE, channel=ConsentChannel.BOUNCE)))
        assert details and all(d.startswith("complaint: Feedback-Type: abuse") for d in details)
        assert [e.kind for e in _events(subscriber_id)] == [BounceKind.COMPLAINT]


def test_a_complaint_whose_copy_carries_our_token_names_the_subscriber_by_it(app, listener):
    with app.app_context():
        subscriber_id = add_subscriber("renamed@example.net")  # the report's addresses are not theirs
        token = make_token(TokenPurpose.UNSUBSCRIBE, db.session.get(Subscriber, subscriber_id))
    raw = sample("arf_yahoo_cfl").replace(b"unsubscribe%20TOKEN", b"unsubscribe%20" + token.encode())
    assert hand_over(listener, raw)[0] == 250
    with app.app_context():
        assert _status("renamed@example.net") == SubscriberStatus.UNSUBSCRIBED


def test_an_auto_reply_is_ignored(app, listener):
    with app.app_context():
        subscriber_id = add_subscriber("pia@example.net")
    assert hand_over(listener, sample("autoreply_rfc3834"))[0] == 250
    with app.app_context():
        assert _status("pia@example.net") == SubscriberStatus.CONFIRMED and _events(subscriber_id) == []


def _unsubscribe_mail(token: str) -> bytes:
    return (f"From: Ida <ida@example.net>\r\nTo: {UNSUBSCRIBE_ADDRESS}\r\nSubject: unsubscribe {token}\r\n"
            f"Message-ID: <unsub-{token[:8]}@example.net>\r\n\r\n\r\n").encode()


def test_a_mailto_unsubscribe_uses_the_one_click_token(app, listener):
    with app.app_context():
        subscriber_id = add_subscriber("ida@example.net")
        subscriber = db.session.get(Subscriber, subscriber_id)
        first_topic = subscriber.subscriptions[0].topic_id
        scoped = make_token(TokenPurpose.UNSUBSCRIBE, subscriber, (first_topic,))
    assert hand_over(listener, _unsubscribe_mail(scoped), UNSUBSCRIBE_ADDRESS)[0] == 250
    with app.app_context():
        subscriber = db.session.get(Subscriber, subscriber_id)
        left = {s.topic_id for s in subscriber.subscriptions if s.status == SubscriptionStatus.UNSUBSCRIBED}
        assert left == {first_topic} and subscriber.status == SubscriberStatus.CONFIRMED
        ledger = list(db.session.scalars(db.select(ConsentEvent).filter_by(
            subscriber_id=subscriber_id, action=ConsentAction.UNSUBSCRIBE)))
        assert [(e.channel, e.topic_id) for e in ledger] == [(ConsentChannel.MAILTO, first_topic)]
        assert [e.kind for e in _events(subscriber_id)] == [BounceKind.UNSUBSCRIBE]
        everything = make_token(TokenPurpose.UNSUBSCRIBE, subscriber)
    assert hand_over(listener, _unsubscribe_mail(everything), UNSUBSCRIBE_ADDRESS)[0] == 250
    with app.app_context():
        assert _status("ida@example.net") == SubscriberStatus.UNSUBSCRIBED


def test_a_mailto_unsubscribe_with_a_forged_token_changes_nothing(app, listener):
    with app.app_context():
        subscriber_id = add_subscriber("ida@example.net")
        token = make_token(TokenPurpose.UNSUBSCRIBE, db.session.get(Subscriber, subscriber_id))
    forged = token[:-4] + ("AAAA" if not token.endswith("AAAA") else "BBBB")
    assert hand_over(listener, _unsubscribe_mail(forged), UNSUBSCRIBE_ADDRESS)[0] == 250
    with app.app_context():
        assert _status("ida@example.net") == SubscriberStatus.CONFIRMED
        assert db.session.scalar(db.select(db.func.count(ConsentEvent.id)).filter_by(
            subscriber_id=subscriber_id, action=ConsentAction.UNSUBSCRIBE)) == 0


def test_a_forged_verp_token_is_ignored(app, listener):
    with app.app_context():
        subscriber_id = add_subscriber("ida@example.net")
    code, _ = hand_over(listener, sample("rfc3464_generic_hard"), "news+d1.AAAAAAAAAAAAAAAA@example.org")
    assert code == 250
    with app.app_context():
        assert _status("ida@example.net") == SubscriberStatus.CONFIRMED and _events(subscriber_id) == []


def test_a_verified_verp_reference_names_the_delivery(app):
    """A bounce to the delivery's signed return path reaches that delivery, whatever address the DSN names."""
    from mailer import outgoing
    from mailer.inbound import actions

    app.config["VERP"] = True
    with app.app_context():
        subscriber_id = add_subscriber("someone.else@example.net")  # the DSN's address is not theirs
        delivery = Delivery(mailing_id=create_mailing(), subscriber_id=subscriber_id, status=DeliveryStatus.SENT)
        db.session.add(delivery)
        db.session.commit()
        delivery_id = delivery.id
        return_path = outgoing.delivery_return_paths()(delivery_id)
        forged = return_path.replace(f"+d{delivery_id}.", f"+d{delivery_id + 1}.")
        actions.receive(sample("rfc3464_generic_hard"), [forged])  # another delivery's id, this one's signature
        assert db.session.get(Delivery, delivery_id).status == DeliveryStatus.SENT
        actions.receive(sample("rfc3464_generic_hard"), [return_path])
        assert _status("someone.else@example.net") == SubscriberStatus.BOUNCED
        assert db.session.get(Delivery, delivery_id).status == DeliveryStatus.BOUNCED
        assert [e.delivery_id for e in _events(subscriber_id)] == [delivery_id]


@pytest.mark.parametrize("raw", [
    sample("malformed_multipart_without_boundary"), sample("not_a_bounce_human_reply"), b"\x00\xff garbage\r\n",
])
def test_bad_input_changes_nothing_and_the_listener_keeps_going(app, listener, raw):
    with app.app_context():
        add_subscriber("victim@example.net")
    assert hand_over(listener, raw)[0] == 250
    assert hand_over(listener, sample("rfc3464_generic_hard"))[0] == 250  # still up
    with app.app_context():
        assert _status("victim@example.net") == SubscriberStatus.CONFIRMED


def test_a_message_over_the_size_limit_is_refused_and_changes_nothing(app):
    app.config["INBOUND_MAX_BYTES"] = 20_000
    controller = start_listener(app)
    try:
        with app.app_context():
            add_subscriber("ida@example.net")
        padded = sample("rfc3464_generic_hard").replace(b"--\r\n", b"--\r\n" + b"x" * 70 + b"\r\n" * 400, 1)
        padded += (b"y" * 76 + b"\r\n") * 300
        assert hand_over(controller.port, padded)[0] == 552
        with app.app_context():
            assert _status("ida@example.net") == SubscriberStatus.CONFIRMED
    finally:
        controller.stop()


def test_with_the_database_down_the_listener_answers_451_and_the_retry_applies_it(app, listener):
    down = create_app({
        "TESTING": True,
        "SQLALCHEMY_DATABASE_URI": f"postgresql+psycopg://postgres@127.0.0.1:{free_port()}/nothing",
        "SECRET_KEYS": app.config["SECRET_KEYS"], "SECRET_KEY": app.config["SECRET_KEY"],
        "MAIL_FROM": app.config["MAIL_FROM"],
    })
    controller = start_listener(down)
    try:
        with app.app_context():
            add_subscriber("ida@example.net")
        for _ in range(2):  # the MTA keeps it and tries again; the listener stays up
            code, _ = hand_over(controller.port, sample("rfc3464_generic_hard"))
            assert code == 451
        with app.app_context():
            assert _status("ida@example.net") == SubscriberStatus.CONFIRMED
    finally:
        controller.stop()
        with down.app_context():
            db.engine.dispose()
    assert hand_over(listener, sample("rfc3464_generic_hard"))[0] == 250  # the database is back
    with app.app_context():
        assert _status("ida@example.net") == SubscriberStatus.BOUNCED


def test_admins_see_the_bounce_log_per_subscriber_and_per_mailing(app, listener, admin):
    with app.app_context():
        subscriber_id = add_subscriber("niels@example.net")
        mailing_id = create_mailing(subject="Workshop i Aarhus")
        db.session.add(Delivery(mailing_id=mailing_id, subscriber_id=subscriber_id, status=DeliveryStatus.SENT,
                                message_id="<postfix_user_unknown.1@news.example.org>"))
        db.session.commit()
    assert hand_over(listener, sample("postfix_user_unknown"))[0] == 250
    page = admin.get(f"/staff/subscribers/{subscriber_id}").get_data(as_text=True)
    assert 'id="bounces"' in page and "Hard bounce" in page and "User unknown in virtual mailbox table" in page
    assert "Workshop i Aarhus" in page
    page = admin.get(f"/staff/mailings/{mailing_id}").get_data(as_text=True)
    assert 'id="bounces"' in page and "niels@example.net" in page and "550 5.1.1" in page


def test_editors_do_not_see_the_bounce_log(app, editor):
    with app.app_context():
        mailing_id = create_mailing()
    page = editor.get(f"/staff/mailings/{mailing_id}")
    assert page.status_code == 200 and 'id="bounces"' not in page.get_data(as_text=True)
