"""The lifecycle mails: opt-in, fresh manage link and welcome."""
from __future__ import annotations

import logging
from email.utils import parseaddr

from flask import current_app
from flask_babel import force_locale, gettext

from mailer.emails import message_builder, public_url, render_email, unsubscribe_mailto
from mailer.extensions import db
from mailer.models import Subscriber, SubscriberStatus, SubscriptionStatus, Topic
from mailer.models.types import utcnow
from mailer.sending.transport import Transport
from mailer.tokens import TokenPurpose, make_token

log = logging.getLogger(__name__)


def _topic_names(subscriber: Subscriber, status: SubscriptionStatus) -> list[str]:
    ids = subscriber.topic_ids(status)
    topics = db.session.scalars(db.select(Topic).where(Topic.id.in_(ids)).order_by(Topic.position, Topic.id))
    return [t.name(subscriber.language) for t in topics]


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
    built = message_builder().build(
        to=subscriber.email, subject=email.subject, text=email.text, html=email.html, headers=headers
    )
    transport.send(_envelope_sender(), subscriber.email, built.data)
    log.info("%s mail %s sent to subscriber %s", name, built.message_id, subscriber.id)
    return built.message_id


def _envelope_sender() -> str:
    return parseaddr(current_app.config["MAIL_FROM"])[1]


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
    with force_locale(subscriber.language):
        _send(
            subscriber, transport, "welcome", gettext("Welcome to our newsletter"),
            headers=headers, manage_url=manage_url, unsubscribe_url=unsubscribe_url,
            topics=_topic_names(subscriber, SubscriptionStatus.CONFIRMED),
        )
    subscriber.welcome_sent_at = utcnow()
    db.session.commit()
    return True
