"""What mailings achieved: delivery outcomes, the unsubscribes they caused, and clicks per link.

An unsubscribe is caused by a mailing when its link or its one-click header was used: those
tokens name the mailing, and the consent ledger records it (ConsentEvent.mailing_id). Leaving
because the address bounced or complained is counted as a bounce, not here.
"""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

from sqlalchemy import func, select

from mailer.extensions import db
from mailer.models import (
    ConsentAction, ConsentChannel, ConsentEvent, Delivery, DeliveryStatus, Mailing, MailingLink, MailingStatus,
)
from mailer.models.mailing import REACHED_PEOPLE


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


def results_for(mailing_ids: list[int]) -> dict[int, MailingResults]:
    """The results of several mailings in three aggregate queries."""
    results = {mailing_id: MailingResults(mailing_id) for mailing_id in mailing_ids}
    if not mailing_ids:
        return results
    for mailing_id, status, count in db.session.execute(
            select(Delivery.mailing_id, Delivery.status, func.count())
            .where(Delivery.mailing_id.in_(mailing_ids)).group_by(Delivery.mailing_id, Delivery.status)):
        results[mailing_id].outcomes[status] = count
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
    """The mailings that reached people most recently, newest first, with their results."""
    mailings = list(db.session.scalars(
        select(Mailing).where(Mailing.status.in_(REACHED_PEOPLE))
        .order_by(Mailing.started_at.desc().nulls_last(), Mailing.id.desc()).limit(limit)))
    results = results_for([m.id for m in mailings])
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
