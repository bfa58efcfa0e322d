"""lifecycle.unsubscribe, the one rule every way of leaving uses (link, one-click, manage page, mail, API, complaint).

It writes with statements of its own rather than through the session (docs/PERFORMANCE.md, one-click),
so these check what a caller in the same transaction sees afterwards, and what the ledger says.
"""
from __future__ import annotations

import pytest

from mailer.extensions import db
from mailer.models import ConsentAction, ConsentChannel, ConsentEvent, Subscriber, SubscriberStatus, Topic
from mailer.subscribers import lifecycle
from mailer.subscribers.consent import Origin
from tests.factories import create_subscriber

TOPICS = ("events-copenhagen", "newsletter")


def _topic(slug: str) -> Topic:
    return db.session.scalar(db.select(Topic).filter_by(slug=slug))


def _ledger(subscriber_id: int) -> list[tuple]:
    return [(e.action, e.channel, e.topic_id, e.topic_name, e.mailing_id, e.detail) for e in db.session.scalars(
        db.select(ConsentEvent).filter_by(subscriber_id=subscriber_id).order_by(ConsentEvent.id))]


@pytest.mark.parametrize("language", ["da", "en"])
def test_leaving_one_topic_shows_at_once_in_the_same_transaction_and_names_it_in_the_readers_language(app, language):
    with app.app_context():
        subscriber = db.session.get(Subscriber, create_subscriber("vera@example.org", *TOPICS, language=language))
        assert {s.status for s in subscriber.subscriptions} == {"confirmed"}  # read before the change
        newsletter = _topic("newsletter")
        changed = lifecycle.unsubscribe(subscriber, Origin(ConsentChannel.LINK), {newsletter.id}, detail="why")
        assert changed == 1
        assert {s.topic.slug: s.status for s in subscriber.subscriptions} == {
            "events-copenhagen": "confirmed", "newsletter": "unsubscribed"}
        assert subscriber.status == SubscriberStatus.CONFIRMED  # still reads one topic
        assert _ledger(subscriber.id) == [(ConsentAction.UNSUBSCRIBE, ConsentChannel.LINK, newsletter.id,
                                           newsletter.name(language), None, "why")]
        db.session.commit()
        db.session.expire_all()
        assert {s.topic.slug: s.status for s in subscriber.subscriptions}["newsletter"] == "unsubscribed"


def test_leaving_the_last_topic_ends_the_subscriber_and_a_repeat_writes_nothing(app):
    with app.app_context():
        subscriber_id = create_subscriber("vera@example.org", *TOPICS, language="en")
        subscriber = db.session.get(Subscriber, subscriber_id)  # subscriptions not read yet
        copenhagen, newsletter = _topic("events-copenhagen"), _topic("newsletter")
        lifecycle.unsubscribe(subscriber, Origin(ConsentChannel.API), {copenhagen.id})
        assert subscriber.status == SubscriberStatus.CONFIRMED
        assert lifecycle.unsubscribe(subscriber, Origin(ConsentChannel.API), {newsletter.id, copenhagen.id}) == 1
        assert subscriber.status == SubscriberStatus.UNSUBSCRIBED
        assert {s.status for s in subscriber.subscriptions} == {"unsubscribed"}
        db.session.commit()
        before = _ledger(subscriber_id)
        assert [row[2:4] for row in before] == [(copenhagen.id, copenhagen.name_en), (newsletter.id, newsletter.name_en)]

        db.session.expire_all()
        subscriber = db.session.get(Subscriber, subscriber_id)
        assert lifecycle.one_click_unsubscribe(subscriber, Origin(ConsentChannel.ONE_CLICK, mailing_id=None)) == 0
        db.session.commit()
        assert _ledger(subscriber_id) == before
        assert db.session.get(Subscriber, subscriber_id).status == SubscriberStatus.UNSUBSCRIBED


def test_one_click_ends_every_topic_and_records_the_mailing_it_came_from(app):
    from tests.factories import create_mailing

    with app.app_context():
        subscriber_id = create_subscriber("vera@example.org", *TOPICS, language="da")
        mailing_id = create_mailing()
        subscriber = db.session.get(Subscriber, subscriber_id)
        assert lifecycle.one_click_unsubscribe(subscriber, Origin(ConsentChannel.ONE_CLICK, mailing_id=mailing_id)) == 2
        db.session.commit()
        db.session.expire_all()
        subscriber = db.session.get(Subscriber, subscriber_id)
        assert subscriber.status == SubscriberStatus.UNSUBSCRIBED
        assert {s.status for s in subscriber.subscriptions} == {"unsubscribed"}
        rows = _ledger(subscriber_id)
        assert {(row[0], row[1], row[4]) for row in rows} == {
            (ConsentAction.UNSUBSCRIBE, ConsentChannel.ONE_CLICK, mailing_id)}
        assert sorted(row[3] for row in rows) == sorted(_topic(slug).name_da for slug in TOPICS)
