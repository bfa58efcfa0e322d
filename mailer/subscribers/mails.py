"""The lifecycle mails: opt-in, fresh manage link and welcome (with the next events of the chosen topics)."""
from __future__ import annotations

import logging
from datetime import datetime

from flask_babel import force_locale, gettext
from sqlalchemy import exists, select

from mailer import outgoing
from mailer.emails import public_url, render_email, unsubscribe_mailto
from mailer.events.service import event_place, format_when
from mailer.extensions import db
from mailer.models import Event, EventStatus, Subscriber, SubscriberStatus, SubscriptionStatus, Topic
from mailer.models.event import event_topic
from mailer.models.types import utcnow
from mailer.mail.transports import Transport
from mailer.tokens import TokenPurpose, make_token

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


def _event_items(events: list[Event], language: str) -> list[dict[str, str]]:
    """What the welcome mail says about each event, in the subscriber's language and Danish time."""
    return [
        {
            "title": event.title,
            "when": format_when(event.starts_at, event.ends_at, language),
            "place": event_place(event),
            "url": public_url("events.event", event_id=event.id),
        }
        for event in events
    ]


def _list_headers(subscriber: Subscriber) -> tuple[dict[str, str], str, str]:
    token = make_token(TokenPurpose.UNSUBSCRIBE, subscriber)
    one_click = public_url("public.one_click", token=token)
    headers = {
        "List-Unsubscribe": f"<{one_click}>, <{unsubscribe_mailto(token)}>",
        "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
    }
    return headers, public_url("public.unsubscribe", token=token), public_url(
        "public.manage", token=make_token(TokenPurpose.MANAGE, subscriber)
    )


def _send(subscriber: Subscriber, transport: Transport, name: str, subject: str, headers=None, **context) -> str:
    email = render_email(name, subscriber.language, subject, subscriber=subscriber, **context)
    built = outgoing.message_builder().build(
        to=subscriber.email, subject=email.subject, text=email.text, html=email.html, headers=headers
    )
    outgoing.send_one(subscriber.email, built.data, transport)
    log.info("%s mail %s sent to subscriber %s", name, built.message_id, subscriber.id)
    return built.message_id


def deliver_link_mail(subscriber_id: int, transport: Transport) -> bool:
    """Send the owed opt-in or manage-link mail; return False if nothing was owed."""
    subscriber = db.session.get(Subscriber, subscriber_id)
    if subscriber is None or subscriber.link_requested_at is None:
        return False
    if subscriber.link_sent_at and subscriber.link_sent_at >= subscriber.link_requested_at:
        return False  # a redelivered task: the mail already went out
    with force_locale(subscriber.language):
        if subscriber.topic_ids(SubscriptionStatus.UNCONFIRMED):
            token = make_token(TokenPurpose.CONFIRM, subscriber)
            _send(
                subscriber, transport, "confirm", gettext("Please confirm your subscription"),
                confirm_url=public_url("public.confirm", token=token),
                topics=_topic_names(subscriber, SubscriptionStatus.UNCONFIRMED),
            )
        elif subscriber.status == SubscriberStatus.CONFIRMED:
            headers, unsubscribe_url, manage_url = _list_headers(subscriber)
            _send(
                subscriber, transport, "manage_link", gettext("Your link to manage your subscription"),
                headers=headers, manage_url=manage_url, unsubscribe_url=unsubscribe_url,
            )
    subscriber.link_sent_at = utcnow()
    db.session.commit()
    return True


def deliver_welcome_mail(subscriber_id: int, transport: Transport) -> bool:
    """Send the welcome mail after confirmation; return False if not owed."""
    subscriber = db.session.get(Subscriber, subscriber_id)
    if subscriber is None or subscriber.status != SubscriberStatus.CONFIRMED or subscriber.confirmed_at is None:
        return False
    if subscriber.welcome_sent_at and subscriber.welcome_sent_at >= subscriber.confirmed_at:
        return False
    headers, unsubscribe_url, manage_url = _list_headers(subscriber)
    events = next_events_of_topics(subscriber.topic_ids(SubscriptionStatus.CONFIRMED), utcnow())
    with force_locale(subscriber.language):
        _send(
            subscriber, transport, "welcome", gettext("Welcome to our newsletter"),
            headers=headers, manage_url=manage_url, unsubscribe_url=unsubscribe_url,
            topics=_topic_names(subscriber, SubscriptionStatus.CONFIRMED),
            events=_event_items(events, subscriber.language),
        )
    subscriber.welcome_sent_at = utcnow()
    db.session.commit()
    return True
