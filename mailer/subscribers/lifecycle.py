"""Sign up, confirm, change preferences and leave: the subscriber lifecycle."""
from __future__ import annotations

import logging
from collections.abc import Collection
from datetime import datetime, timedelta

from sqlalchemy import bindparam, func, inspect, update
from sqlalchemy.orm.attributes import NO_VALUE, set_committed_value

from mailer.extensions import db
from mailer.models import (
    ConsentAction,
    Frequency,
    Subscriber,
    SubscriberStatus,
    Subscription,
    SubscriptionStatus,
    Topic,
    WebhookEvent,
)
from mailer.models.subscriber import new_token_secret
from mailer import clock
from mailer.outbound_webhooks import events as webhook_events
from mailer.subscribers.consent import CONSENT_VERSION, Origin, record, record_topics
from mailer.subscribers.preferences import set_frequency

log = logging.getLogger(__name__)

class UnknownTopic(ValueError):
    """A topic id that does not exist or is not open to the public."""


def find_subscriber(email: str) -> Subscriber | None:
    """Return the subscriber with this address, whatever its case."""
    return db.session.scalar(db.select(Subscriber).where(func.lower(Subscriber.email) == email.lower()))


def public_topics() -> list[Topic]:
    """Return the topics visitors may choose, in display order: public and not archived."""
    return list(db.session.scalars(db.select(Topic).filter_by(is_public=True, archived_at=None)
                                   .order_by(Topic.position, Topic.id)))


def all_topics() -> list[Topic]:
    """Return every topic, public or not, archived or not, in display order (staff pages about people)."""
    return list(db.session.scalars(db.select(Topic).order_by(Topic.position, Topic.id)))


def active_topics() -> list[Topic]:
    """Return the topics staff can send to and add people to: public or private, not archived."""
    return list(db.session.scalars(db.select(Topic).filter_by(archived_at=None).order_by(Topic.position, Topic.id)))


def _checked_topic_ids(topic_ids: Collection[int], *, public_only: bool = True) -> set[int]:
    allowed = {t.id for t in public_topics()} if public_only else set(db.session.scalars(db.select(Topic.id)))
    unknown = set(topic_ids) - allowed
    if unknown:
        raise UnknownTopic(f"unknown topics {sorted(unknown)}")
    return set(topic_ids)


def _may_queue_link_mail(subscriber: Subscriber, now: datetime, interval: timedelta) -> bool:
    last = subscriber.link_requested_at
    return last is None or now - last >= interval


def _add_pending(subscriber: Subscriber, topic_id: int, origin: Origin, action: ConsentAction) -> None:
    subscription = subscriber.subscription_for(topic_id)
    if subscription is None:
        subscriber.subscriptions.append(Subscription(topic_id=topic_id, status=SubscriptionStatus.UNCONFIRMED))
    elif subscription.status == SubscriptionStatus.UNSUBSCRIBED:
        subscription.status = SubscriptionStatus.UNCONFIRMED
    record(subscriber, action, origin, topic_id=topic_id, consent_version=CONSENT_VERSION)


def request_subscription(
    *, email: str, name: str | None, language: str, topic_ids: Collection[int], origin: Origin,
    frequency: str = Frequency.ANNOUNCEMENTS, mail_interval: timedelta,
) -> int | None:
    """Record a signup; return the subscriber id if an opt-in mail should be sent now.

    The caller answers the visitor identically whatever this returns, so a signup
    reveals nothing about whether the address was already known.
    """
    chosen = _checked_topic_ids(topic_ids)
    now = clock.utcnow()
    subscriber = find_subscriber(email)
    proven = subscriber is not None and subscriber.status == SubscriberStatus.CONFIRMED
    if subscriber is None:
        subscriber = Subscriber(email=email, name=name or None, language=language, status=SubscriberStatus.PENDING,
                                frequency=Frequency.ANNOUNCEMENTS)
        db.session.add(subscriber)
    elif subscriber.status != SubscriberStatus.CONFIRMED:
        # Re-subscribing after leaving, or a bounce, goes through double opt-in again.
        subscriber.status = SubscriberStatus.PENDING
        if subscriber.name is None and name:
            subscriber.name = name
    # An unproven visitor never changes a confirmed subscriber's name, language or frequency.
    for topic_id in sorted(chosen - subscriber.topic_ids(SubscriptionStatus.CONFIRMED)):
        _add_pending(subscriber, topic_id, origin, ConsentAction.SIGNUP)
    if not proven:
        # Confirming ratifies the choice; a confirmed subscriber changes it on the manage page.
        set_frequency(subscriber, frequency, origin)
    db.session.flush()
    if (not subscriber.topic_ids(SubscriptionStatus.UNCONFIRMED)
            or not _may_queue_link_mail(subscriber, now, mail_interval)):
        return None
    subscriber.link_requested_at = now
    log.info("opt-in mail queued for subscriber %s", subscriber.id)
    return subscriber.id


def request_new_link(email: str, *, mail_interval: timedelta) -> int | None:
    """Return the subscriber id if a fresh confirm or manage link should be mailed now."""
    subscriber = find_subscriber(email)
    now = clock.utcnow()
    if subscriber is None or subscriber.status not in (SubscriberStatus.PENDING, SubscriberStatus.CONFIRMED):
        return None
    if not _may_queue_link_mail(subscriber, now, mail_interval):
        return None
    subscriber.link_requested_at = now
    return subscriber.id


def confirm_subscription(subscriber: Subscriber, origin: Origin) -> bool:
    """Confirm every topic awaiting opt-in; return True if anything changed."""
    pending = [s for s in subscriber.subscriptions if s.status == SubscriptionStatus.UNCONFIRMED]
    if not pending:
        return False
    for subscription in pending:
        subscription.status = SubscriptionStatus.CONFIRMED
        record(subscriber, ConsentAction.CONFIRM, origin, topic_id=subscription.topic_id)
    subscriber.status = SubscriberStatus.CONFIRMED
    subscriber.confirmed_at = clock.utcnow()
    log.info("subscriber %s confirmed %s topics", subscriber.id, len(pending))
    webhook_events.subscriber_event(WebhookEvent.SUBSCRIBER_CONFIRMED, subscriber,
                                    confirmed_topics=[s.topic_id for s in pending])
    return True


def _leave_statement(some: bool):
    """UPDATE … RETURNING of a subscriber's subscriptions still held (of some topics); built once."""
    table = Subscription.__table__
    statement = (update(table).where(table.c.subscriber_id == bindparam("whose"),
                                     table.c.status != SubscriptionStatus.UNSUBSCRIBED)
                 .values(status=SubscriptionStatus.UNSUBSCRIBED, updated_at=bindparam("now"))
                 .returning(table.c.topic_id))
    return statement.where(table.c.topic_id.in_(bindparam("topic_ids", expanding=True))) if some else statement


_LEAVE_ALL, _LEAVE_SOME = _leave_statement(False), _leave_statement(True)
_END_SUBSCRIBER = (update(Subscriber.__table__).where(Subscriber.__table__.c.id == bindparam("whose"))
                   .values(status=SubscriberStatus.UNSUBSCRIBED))


def unsubscribe(subscriber: Subscriber, origin: Origin, topic_ids: Collection[int] | None = None,
                *, detail: str | None = None) -> int:
    """Withdraw consent for the given topics, or for all; return how many topics changed.

    `detail` goes into every consent row written (why, e.g. the complaint), so the ledger says it.
    The subscriptions change in one UPDATE … RETURNING, the ledger in one INSERT … SELECT and the
    reader's status in one UPDATE, statements built once, not through the session's unit of work:
    every one-click after a large send comes here, and that halved this function's time
    (docs/PERFORMANCE.md). The objects already read are then brought up to date by hand.
    """
    was = subscriber.status
    db.session.flush()  # what the session holds goes first: the statement below does not flush it
    if topic_ids is None:
        left = db.session.scalars(_LEAVE_ALL, {"whose": subscriber.id, "now": clock.utcnow()}).all()
    else:
        left = db.session.scalars(_LEAVE_SOME, {"whose": subscriber.id, "now": clock.utcnow(),
                                                "topic_ids": list(topic_ids)}).all()
    left.sort()
    loaded = inspect(subscriber).attrs.subscriptions.loaded_value
    for subscription in loaded if loaded is not NO_VALUE else ():
        if subscription.topic_id in left:  # bring the ones already read up to date
            set_committed_value(subscription, "status", SubscriptionStatus.UNSUBSCRIBED)
    record_topics(subscriber, ConsentAction.UNSUBSCRIBE, origin, left, detail=detail)
    # Leaving everything needs no look at what is left; leaving some topics looks at the rest.
    if topic_ids is None or not any(s.status != SubscriptionStatus.UNSUBSCRIBED for s in subscriber.subscriptions):
        if subscriber.status != SubscriberStatus.UNSUBSCRIBED:
            db.session.execute(_END_SUBSCRIBER, {"whose": subscriber.id})
            set_committed_value(subscriber, "status", SubscriberStatus.UNSUBSCRIBED)
            if topic_ids is None and not left:
                record(subscriber, ConsentAction.UNSUBSCRIBE, origin, detail=detail)
    if left:
        log.info("subscriber %s left %s topics via %s", subscriber.id, len(left), origin.channel)
    if left or subscriber.status != was:
        webhook_events.subscriber_event(WebhookEvent.SUBSCRIBER_UNSUBSCRIBED, subscriber, left_topics=left,
                                        channel=str(origin.channel))
    return len(left)


def one_click_unsubscribe(subscriber: Subscriber, origin: Origin) -> int:
    """RFC 8058 one-click: end all mail to the address, whichever mailing's header was used.

    Why everything: mail apps label the button "Unsubscribe" and a reader who presses it
    expects no more mail from the sender. Leaving one topic is offered by the footer link's
    page instead. Repeating it changes and records nothing more.
    """
    return unsubscribe(subscriber, origin)


def update_preferences(
    subscriber: Subscriber, *, topic_ids: Collection[int], name: str | None, language: str, origin: Origin,
    mail_interval: timedelta,
) -> int | None:
    """Apply the manage page; return the subscriber id if an opt-in mail is now owed."""
    chosen = _checked_topic_ids(topic_ids)
    set_name(subscriber, name, origin)
    set_language(subscriber, language, origin)
    was_confirmed = subscriber.status == SubscriberStatus.CONFIRMED
    active = subscriber.topic_ids(SubscriptionStatus.CONFIRMED) | subscriber.topic_ids(SubscriptionStatus.UNCONFIRMED)
    added = sorted(chosen - active)
    for topic_id in added:
        _add_pending(subscriber, topic_id, origin, ConsentAction.SUBSCRIBE)
        if was_confirmed:
            # The manage link reached this mailbox, which proves control: no second opt-in needed.
            subscriber.subscription_for(topic_id).status = SubscriptionStatus.CONFIRMED
    # Only the topics the page offered can be left here: a private or archived one stays as it is.
    left = (active - chosen) & {t.id for t in public_topics()}
    if left:
        unsubscribe(subscriber, origin, left)
    if not added or was_confirmed:
        return None
    subscriber.status = SubscriberStatus.PENDING
    now = clock.utcnow()
    if not _may_queue_link_mail(subscriber, now, mail_interval):
        return None
    subscriber.link_requested_at = now
    return subscriber.id


def set_name(subscriber: Subscriber, name: str | None, origin: Origin) -> bool:
    """Change the name (blank: none); return False when it is unchanged."""
    if (name or None) == subscriber.name:
        return False
    subscriber.name = name or None
    record(subscriber, ConsentAction.NAME, origin)
    return True


def set_language(subscriber: Subscriber, language: str, origin: Origin) -> bool:
    """Change the language of the subscriber's mails; return False when it is unchanged."""
    if language == subscriber.language:
        return False
    subscriber.language = language
    record(subscriber, ConsentAction.LANGUAGE, origin, detail=language)
    return True


def record_imported_consent(
    *, email: str, name: str | None, language: str, topic_ids: Collection[int], frequency: str,
    origin: Origin, source: str, obtained_at: datetime | None,
) -> Subscriber:
    """Record consent that another system obtained (a ticket shop's checkbox): confirmed, with its source.

    Each topic gets a SIGNUP and a CONFIRM in the ledger whose detail names the source and when the
    consent was given, so the proof is the other system's record. A confirmed subscriber keeps their
    name, language and frequency, as with a signup.
    """
    chosen = _checked_topic_ids(topic_ids)
    detail = f"consent from {source}" + (f" given {obtained_at.isoformat()}" if obtained_at else "")
    subscriber = find_subscriber(email)
    if subscriber is None:
        subscriber = Subscriber(email=email, name=name or None, language=language, status=SubscriberStatus.PENDING,
                                frequency=Frequency.ANNOUNCEMENTS)
        db.session.add(subscriber)
    if subscriber.status != SubscriberStatus.CONFIRMED:
        set_frequency(subscriber, frequency, origin)
    added = sorted(chosen - subscriber.topic_ids(SubscriptionStatus.CONFIRMED))
    for topic_id in added:
        _add_pending(subscriber, topic_id, origin, ConsentAction.SIGNUP)
        subscriber.subscription_for(topic_id).status = SubscriptionStatus.CONFIRMED
        record(subscriber, ConsentAction.CONFIRM, origin, topic_id=topic_id, detail=detail[:300])
    newly_confirmed = subscriber.status != SubscriberStatus.CONFIRMED
    if newly_confirmed:
        subscriber.status = SubscriberStatus.CONFIRMED
        subscriber.confirmed_at = clock.utcnow()
    db.session.flush()
    if newly_confirmed:
        webhook_events.subscriber_event(WebhookEvent.SUBSCRIBER_CONFIRMED, subscriber, confirmed_topics=added)
    log.info("subscriber %s: imported consent recorded via %s", subscriber.id, origin.channel)
    return subscriber


def revoke_tokens(subscriber: Subscriber, origin: Origin) -> None:
    """Invalidate every unsubscribe, manage and confirm link the subscriber holds."""
    subscriber.token_secret = new_token_secret()
    record(subscriber, ConsentAction.TOKENS_REVOKED, origin)
