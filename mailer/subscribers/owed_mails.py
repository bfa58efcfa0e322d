"""The lifecycle mails a subscriber is owed, sent at most once each: opt-in or manage link, and welcome.

A request records that a mail is owed (link_requested_at, confirmed_at) and commits; a task
sends it and records that it went (link_sent_at, welcome_sent_at). A redelivered task finds
nothing owed and sends nothing twice.
"""
from __future__ import annotations

import logging
from datetime import datetime

from sqlalchemy import exists, select

from mailer import outgoing
from mailer.composing.lifecycle_mails import LifecycleMail, confirm_mail, manage_link_mail, welcome_mail
from mailer.extensions import db
from mailer.mail.transports import Transport
from mailer.models import Event, EventStatus, Subscriber, SubscriberStatus, SubscriptionStatus, Topic
from mailer.models.event import event_topic
from mailer import clock

log = logging.getLogger(__name__)

WELCOME_EVENTS = 3  # how many upcoming events the welcome mail lists


def _topic_names(subscriber: Subscriber, status: SubscriptionStatus) -> list[str]:
    ids = subscriber.topic_ids(status)
    topics = db.session.scalars(db.select(Topic).where(Topic.id.in_(ids)).order_by(Topic.position, Topic.id))
    return [t.name(subscriber.language) for t in topics]


def next_events_of_topics(topic_ids: set[int], now: datetime, limit: int = WELCOME_EVENTS) -> list[Event]:
    """The next events, not cancelled and not yet started, that share one of these topics; soonest first."""
    if not topic_ids:
        return []
    shares_a_topic = exists().where(event_topic.c.event_id == Event.id, event_topic.c.topic_id.in_(topic_ids))
    query = (
        select(Event)
        .where(Event.starts_at > now, Event.status != EventStatus.CANCELLED, shares_a_topic)
        .order_by(Event.starts_at, Event.id)
        .limit(limit)
    )
    return list(db.session.scalars(query))


def _send(name: str, subscriber: Subscriber, mail: LifecycleMail, transport: Transport) -> None:
    # A mail with List-Unsubscribe (welcome, manage link) is list mail: it names the list
    # and goes out with a VERP return path, as mailings do. The opt-in mail is neither.
    is_list_mail = "List-Unsubscribe" in mail.headers
    builder = outgoing.message_builder({"List-Id": outgoing.list_id()} if is_list_mail else None)
    built = builder.build(to=subscriber.email, subject=mail.subject, text=mail.text, html=mail.html,
                          headers=mail.headers or None)
    envelope = outgoing.subscriber_return_path(subscriber.public_id) if is_list_mail else None
    outgoing.send_one(subscriber.email, built.data, transport, envelope_from=envelope)
    log.info("%s mail %s sent to subscriber %s", name, built.message_id, subscriber.id)


def owed_link_mail_ids(requested_before: datetime) -> list[int]:
    """Subscribers owed a link mail requested before this time (the broker may have lost its task)."""
    query = select(Subscriber.id).where(Subscriber.link_mail_owed, Subscriber.link_requested_at < requested_before)
    return list(db.session.scalars(query))


def deliver_link_mail(subscriber_id: int, transport: Transport) -> bool:
    """Send the owed opt-in or manage-link mail; return False if nothing was owed."""
    subscriber = db.session.get(Subscriber, subscriber_id)
    if subscriber is None or not subscriber.link_mail_owed:
        return False  # never requested, or a redelivered task: the mail already went out
    if subscriber.topic_ids(SubscriptionStatus.UNCONFIRMED):
        _send("confirm", subscriber, confirm_mail(subscriber, _topic_names(subscriber, SubscriptionStatus.UNCONFIRMED)),
              transport)
    elif subscriber.status == SubscriberStatus.CONFIRMED:
        _send("manage_link", subscriber, manage_link_mail(subscriber), transport)
    subscriber.link_sent_at = clock.utcnow()
    db.session.commit()
    return True


def deliver_welcome_mail(subscriber_id: int, transport: Transport) -> bool:
    """Send the welcome mail after confirmation; return False if not owed."""
    subscriber = db.session.get(Subscriber, subscriber_id)
    if subscriber is None or subscriber.status != SubscriberStatus.CONFIRMED or subscriber.confirmed_at is None:
        return False
    if subscriber.welcome_sent_at and subscriber.welcome_sent_at >= subscriber.confirmed_at:
        return False
    topic_ids = subscriber.topic_ids(SubscriptionStatus.CONFIRMED)
    mail = welcome_mail(subscriber, _topic_names(subscriber, SubscriptionStatus.CONFIRMED),
                        next_events_of_topics(topic_ids, clock.utcnow()))
    _send("welcome", subscriber, mail, transport)
    subscriber.welcome_sent_at = clock.utcnow()
    db.session.commit()
    return True
