"""What mailings achieved: delivery outcomes, the unsubscribes they caused, and clicks per link.

An unsubscribe is caused by a mailing when its link or its one-click header was used: those
tokens name the mailing, and the consent ledger records it (ConsentEvent.mailing_id). Leaving
because the address bounced or complained is counted as a bounce, not here.

The dashboard's delivery counts of finished mailings may be up to five minutes old (they are
kept in MailingOutcomeCount); the results page and the CSV always count live.
"""
from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import timedelta

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from mailer import clock
from mailer.extensions import db
from mailer.models import (
    ConsentAction, ConsentChannel, ConsentEvent, Delivery, DeliveryStatus, Mailing, MailingLink, MailingOutcomeCount,
    MailingStatus,
)
from mailer.models.mailing import REACHED_PEOPLE

# How old the dashboard's delivery counts of a finished mailing may be (bounces still arrive for days).
OUTCOMES_MAX_AGE = timedelta(minutes=5)


@dataclass
class MailingResults:
    mailing_id: int
    outcomes: dict[str, int] = field(default_factory=dict)  # delivery status -> recipients
    unsubscribed: int = 0   # people who left through this mailing's links
    clicks: int = 0         # all clicks on its links

    @property
    def recipients(self) -> int:
        return sum(self.outcomes.values())

    def count(self, status: DeliveryStatus) -> int:
        return self.outcomes.get(status, 0)

    @property
    def failed(self) -> int:
        """Gave up, or the hand-off stayed uncertain."""
        return self.count(DeliveryStatus.FAILED) + self.count(DeliveryStatus.UNKNOWN)


def count_outcomes(mailing_ids: list[int]) -> dict[int, dict[str, int]]:
    """Recipients per delivery status of each mailing, counted now (one GROUP BY over the ledger's index)."""
    counts: dict[int, dict[str, int]] = {mailing_id: {} for mailing_id in mailing_ids}
    if mailing_ids:
        for mailing_id, status, count in db.session.execute(
                select(Delivery.mailing_id, Delivery.status, func.count())
                .where(Delivery.mailing_id.in_(mailing_ids)).group_by(Delivery.mailing_id, Delivery.status)):
            counts[mailing_id][status] = count
    return counts


def recent_outcomes(mailing_ids: list[int], max_age: timedelta = OUTCOMES_MAX_AGE) -> dict[int, dict[str, int]]:
    """Like count_outcomes, but from the kept counts when they are younger than `max_age`.

    Only the stale or missing ones are counted again, and kept (committed at once, a cache).
    """
    now = clock.utcnow()
    kept = {row.mailing_id: row for row in db.session.scalars(
        select(MailingOutcomeCount).where(MailingOutcomeCount.mailing_id.in_(mailing_ids)))} if mailing_ids else {}
    fresh = {mailing_id: json.loads(row.outcomes) for mailing_id, row in kept.items()
             if row.counted_at > now - max_age}
    stale = [mailing_id for mailing_id in mailing_ids if mailing_id not in fresh]
    if stale:
        counted = count_outcomes(stale)
        for mailing_id, outcomes in counted.items():
            row = kept.get(mailing_id) or MailingOutcomeCount(mailing_id=mailing_id)
            row.outcomes, row.counted_at = json.dumps(outcomes), now
            db.session.add(row)
        try:
            db.session.commit()
        except IntegrityError:  # another view kept the same counts a moment earlier
            db.session.rollback()
        fresh.update(counted)
    return fresh


def results_for(mailing_ids: list[int], *, outcomes: dict[int, dict[str, int]] | None = None) -> dict[int, MailingResults]:
    """The results of several mailings: delivery outcomes (counted now unless given), unsubscribes, clicks."""
    results = {mailing_id: MailingResults(mailing_id) for mailing_id in mailing_ids}
    if not mailing_ids:
        return results
    for mailing_id, counts in (outcomes if outcomes is not None else count_outcomes(mailing_ids)).items():
        results[mailing_id].outcomes = dict(counts)
    for mailing_id, count in db.session.execute(
            select(ConsentEvent.mailing_id, func.count(ConsentEvent.subscriber_id.distinct()))
            .where(ConsentEvent.mailing_id.in_(mailing_ids), ConsentEvent.action == ConsentAction.UNSUBSCRIBE,
                   ConsentEvent.channel != ConsentChannel.BOUNCE)
            .group_by(ConsentEvent.mailing_id)):
        results[mailing_id].unsubscribed = count
    for mailing_id, count in db.session.execute(
            select(MailingLink.mailing_id, func.sum(MailingLink.clicks))
            .where(MailingLink.mailing_id.in_(mailing_ids)).group_by(MailingLink.mailing_id)):
        results[mailing_id].clicks = int(count or 0)
    return results


def latest_mailings(limit: int = 10) -> list[tuple[Mailing, MailingResults]]:
    """The mailings that reached people most recently, newest first, with their results.

    Delivery outcomes of a finished mailing come from counts at most OUTCOMES_MAX_AGE old;
    one still going out is counted live.
    """
    mailings = list(db.session.scalars(
        select(Mailing).where(Mailing.status.in_(REACHED_PEOPLE))
        .order_by(Mailing.started_at.desc().nulls_last(), Mailing.id.desc()).limit(limit)))
    finished = [m.id for m in mailings if m.status == MailingStatus.SENT]
    outcomes = recent_outcomes(finished)
    outcomes.update(count_outcomes([m.id for m in mailings if m.status != MailingStatus.SENT]))
    results = results_for([m.id for m in mailings], outcomes=outcomes)
    return [(m, results[m.id]) for m in mailings]


def scheduled_next(limit: int = 5) -> list[Mailing]:
    """The mailings waiting for their time, soonest first."""
    return list(db.session.scalars(select(Mailing).where(Mailing.status == MailingStatus.SCHEDULED)
                                   .order_by(Mailing.scheduled_at, Mailing.id).limit(limit)))


def received_by(subscriber_id: int) -> list[tuple[Mailing, str]]:
    """The mailings a subscriber was a recipient of, newest first, with each outcome."""
    rows = db.session.execute(
        select(Mailing, Delivery.status).join(Delivery, Delivery.mailing_id == Mailing.id)
        .where(Delivery.subscriber_id == subscriber_id)
        .order_by(Mailing.started_at.desc().nulls_last(), Mailing.id.desc()))
    return [(mailing, status) for mailing, status in rows]


def unsubscribes_by_topic(mailing_id: int) -> dict[str | None, int]:
    """Who left through this mailing, by the topic name they left (None: everything at once)."""
    counts: dict[str | None, int] = defaultdict(int)
    for name, count in db.session.execute(
            select(ConsentEvent.topic_name, func.count(ConsentEvent.subscriber_id.distinct()))
            .where(ConsentEvent.mailing_id == mailing_id, ConsentEvent.action == ConsentAction.UNSUBSCRIBE,
                   ConsentEvent.channel != ConsentChannel.BOUNCE)
            .group_by(ConsentEvent.topic_name)):
        counts[name] += count
    return dict(counts)
