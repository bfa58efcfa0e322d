"""The upcoming-events digest: who gets one, with which events, chosen once at snapshot time.

A digest lists each recipient's upcoming events (not ended, not cancelled) of their confirmed
topics, and marks the new ones. An event is new for a subscriber when it was created after
the as-of time of the last digest the ledger says was SENT to them; a digest that failed or
bounced moves nothing, so its events stay new. "Created" rather than "announced": digest
readers chose not to get mailings, and many events are never announced at all; what is
new to them is what appeared on the events page. Subscribers with nothing new get no row, so
no mail.

A reader who takes "both" gets an event once as new: an event whose announcement the ledger
says was SENT to them is listed in their digest (it is still upcoming) but not marked "New",
and it does not by itself earn them a digest.

Each digest looks at the world as of one moment (its scheduled time): only events created by
then count, and that moment is the next digest's cut-off. Every chunk of a large audience
therefore sees the same events, and no event falls between two digests.

The composer is CompiledDigest (mailer/sending/digest_mail.py), re-exported here.
"""
from __future__ import annotations

import logging
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select

from mailer.events.service import upcoming_events
from mailer.extensions import db
from mailer.models import (
    Mailing,
    MailingKind,
    Delivery,
    DeliveryStatus,
    Frequency,
    Subscriber,
    Subscription,
    SubscriptionStatus,
)
from mailer.models.event import event_topic
from mailer import clock
from mailer.sending.audience import SnapshotChunk, eligible_subscribers, insert_pending_rows
from mailer.sending.sql import in_ids
from mailer.composing.digest import CompiledDigest, DigestPayload

__all__ = ["CompiledDigest", "DigestPayload", "digest_as_of", "snapshot_digest_audience", "would_get"]

log = logging.getLogger(__name__)

# Subscribers handled per slice: bounds memory and the size of IN lists, whatever `limit` is.
CHUNK_SIZE = 2000


@dataclass(frozen=True)
class _Listed:
    """One candidate event: when it appeared and which of the digest's topics it belongs to."""

    event_id: int
    created_at: datetime
    topic_ids: frozenset[int]


def digest_as_of(mailing: Mailing) -> datetime:
    """The moment a digest describes: its scheduled time (fixed before the first chunk is taken)."""
    return mailing.scheduled_at or mailing.started_at or clock.utcnow()


def _candidate_events(as_of: datetime, topic_ids: set[int]) -> list[_Listed]:
    """Events upcoming at `as_of`, created by then, in one of the digest's topics; soonest first."""
    events = [e for e in upcoming_events(as_of, include_cancelled=False) if e.created_at <= as_of]
    if not events or not topic_ids:
        return []
    topics: dict[int, set[int]] = defaultdict(set)
    rows = db.session.execute(select(event_topic.c.event_id, event_topic.c.topic_id).where(
        event_topic.c.event_id.in_([e.id for e in events]), event_topic.c.topic_id.in_(topic_ids)))
    for event_id, topic_id in rows:
        topics[event_id].add(topic_id)
    return [_Listed(e.id, e.created_at, frozenset(topics[e.id])) for e in events if topics[e.id]]


def _confirmed_topics(subscriber_ids: list[int], topic_ids: set[int]) -> dict[int, frozenset[int]]:
    rows = db.session.execute(select(Subscription.subscriber_id, Subscription.topic_id).where(
        in_ids(Subscription.subscriber_id, subscriber_ids), Subscription.status == SubscriptionStatus.CONFIRMED,
        Subscription.topic_id.in_(topic_ids)))
    topics: dict[int, set[int]] = defaultdict(set)
    for subscriber_id, topic_id in rows:
        topics[subscriber_id].add(topic_id)
    return {subscriber_id: frozenset(ids) for subscriber_id, ids in topics.items()}


def _last_digest_as_of(mailing_id: int, subscriber_ids: list[int]) -> dict[int, datetime]:
    """For each subscriber, the as-of time of the latest other digest the ledger says was SENT to them."""
    rows = db.session.execute(
        select(Delivery.subscriber_id, func.max(Mailing.scheduled_at))
        .join(Mailing, Mailing.id == Delivery.mailing_id)
        .where(Mailing.kind == MailingKind.DIGEST, Mailing.id != mailing_id,
               Delivery.status == DeliveryStatus.SENT, in_ids(Delivery.subscriber_id, subscriber_ids))
        .group_by(Delivery.subscriber_id)
    )
    return {subscriber_id: as_of for subscriber_id, as_of in rows if as_of is not None}


def _announced_to(subscriber_ids: list[int]) -> dict[int, set[int]]:
    """For each reader who takes "both", the events whose announcement the ledger says reached them."""
    rows = db.session.execute(
        select(Delivery.subscriber_id, Mailing.event_id)
        .join(Mailing, Mailing.id == Delivery.mailing_id)
        .join(Subscriber, Subscriber.id == Delivery.subscriber_id)
        .where(Mailing.kind == MailingKind.ANNOUNCEMENT, Mailing.event_id.is_not(None),
               Delivery.status == DeliveryStatus.SENT, Subscriber.frequency == Frequency.BOTH,
               in_ids(Delivery.subscriber_id, subscriber_ids))
    )
    announced: dict[int, set[int]] = defaultdict(set)
    for subscriber_id, event_id in rows:
        announced[subscriber_id].add(event_id)
    return announced


class _Lists:
    """The events shown to each set of topics, worked out once per set (subscribers share a few sets)."""

    def __init__(self, events: list[_Listed]) -> None:
        self.events = events
        self._by_topics: dict[frozenset[int], list[_Listed]] = {}

    def for_topics(self, topics: frozenset[int]) -> list[_Listed]:
        if topics not in self._by_topics:
            self._by_topics[topics] = [e for e in self.events if e.topic_ids & topics]
        return self._by_topics[topics]


def _add_rows(mailing_id: int, subscriber_ids: list[int], topic_ids: set[int], lists: _Lists,
              listed: set[int], new: set[int]) -> int:
    """Insert one pending row per subscriber of this chunk with something new; return rows added.

    The events those rows list (and mark new) are added to `listed` (and `new`), for the log.
    """
    chosen, payloads = [], []
    for subscriber_id, payload in digest_payloads(mailing_id, subscriber_ids, topic_ids, lists):
        chosen.append(subscriber_id)
        payloads.append(payload.to_json())
        listed.update(payload.events)
        new.update(payload.new)
    return insert_pending_rows(mailing_id, chosen, payloads)


def digest_payloads(mailing_id: int, subscriber_ids: list[int], topic_ids: set[int],
                    lists: _Lists) -> list[tuple[int, DigestPayload]]:
    """What each of these subscribers' digest would list, for those with something new."""
    topics_of = _confirmed_topics(subscriber_ids, topic_ids)
    cut_off = _last_digest_as_of(mailing_id, subscriber_ids)
    announced = _announced_to(subscriber_ids)
    result = []
    for subscriber_id in subscriber_ids:
        shown = lists.for_topics(topics_of.get(subscriber_id, frozenset()))
        since = cut_off.get(subscriber_id)
        had = announced.get(subscriber_id, set())
        new = [e.event_id for e in shown if (since is None or e.created_at > since) and e.event_id not in had]
        if new:
            result.append((subscriber_id, DigestPayload(tuple(e.event_id for e in shown), tuple(new))))
    return result


def would_get(mailing: Mailing) -> list[tuple[int, DigestPayload]]:
    """Who would get this digest if it started now, with what: the staff preview (writes nothing)."""
    topic_ids = {t.id for t in mailing.topics}
    lists = _Lists(_candidate_events(digest_as_of(mailing), topic_ids))
    if not lists.events:
        return []
    subscriber_ids = list(db.session.scalars(eligible_subscribers(mailing).order_by(Subscriber.id)))
    return digest_payloads(mailing.id or 0, subscriber_ids, topic_ids, lists)


def snapshot_digest_audience(mailing: Mailing, after_subscriber_id: int = 0,
                             limit: int | None = None) -> SnapshotChunk:
    """Insert pending digest rows for eligible subscribers with ids above `after_subscriber_id`.

    Like audience.snapshot_audience: at most `limit` eligible subscribers are examined (all of
    them when None), in id order, and repeating a chunk adds nothing (UNIQUE (mailing,
    subscriber)). A subscriber examined but given no row had nothing new.
    """
    as_of = digest_as_of(mailing)
    topic_ids = {t.id for t in mailing.topics}
    lists = _Lists(_candidate_events(as_of, topic_ids))
    if not lists.events and limit is None:
        return SnapshotChunk(0, after_subscriber_id, True)  # nothing to list: no one gets a digest
    query = eligible_subscribers(mailing, after=after_subscriber_id).order_by(Subscriber.id)
    if limit is not None:
        query = query.limit(limit)
    # One query for the whole chunk, streamed (a server-side cursor on PostgreSQL) in slices
    # of CHUNK_SIZE; each slice costs three more queries, whatever the number of subscribers.
    added, examined, cursor = 0, 0, after_subscriber_id
    listed: set[int] = set()
    new: set[int] = set()
    for subscriber_ids in db.session.scalars(query.execution_options(yield_per=CHUNK_SIZE)).partitions():
        examined += len(subscriber_ids)
        cursor = subscriber_ids[-1]
        if lists.events:
            added += _add_rows(mailing.id, subscriber_ids, topic_ids, lists, listed, new)
    # What the rows hold, not what could have been listed: the mails of this chunk show these.
    log.info("digest %s: %s rows added for %s subscribers up to id %s; their mails list %s event(s), %s of them "
             "new: %s", mailing.id, added, examined, cursor, len(listed), len(new), sorted(listed))
    return SnapshotChunk(added, cursor, limit is None or examined < limit)
