"""Who a mailing would reach if it went now: the numbers staff confirm before scheduling or sending.

The rule itself is mailer.sending.audience.eligible_subscribers, the one the engine uses for the
snapshot; this module only counts its answer (and the answer widened by one condition, to count
the paused and the digest-only readers it leaves out).
"""
from __future__ import annotations

from dataclasses import dataclass, field

from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select

from mailer.extensions import db
from mailer.models import Mailing, MailingKind, Subscriber, Subscription, SubscriptionStatus, Topic
from mailer.models.mailing import GOING_OUT
from mailer.sending.audience import eligible_subscribers


@dataclass(frozen=True)
class AudienceSummary:
    total: int
    by_language: dict[str, int] = field(default_factory=dict)   # "da"/"en" -> recipients
    by_topic: list[tuple[Topic, int]] = field(default_factory=list)  # recipients following each topic
    paused: int = 0        # would get it, but have paused their mail
    digest_only: int = 0   # follow its topics, but take only the digest
    # False for a reminder or cancellation notice whose announcement is still going out: its
    # audience is whoever that announcement reaches, so it cannot be counted yet.
    known: bool = True


class AudienceRefused(ValueError):
    """Scheduling or sending was refused because of the audience; `message` says why, translated."""

    def __init__(self, message) -> None:
        super().__init__(str(message))
        self.message = message


class EmptyAudience(AudienceRefused):
    """Nobody would get the mailing."""


class AudienceChanged(AudienceRefused):
    """The number staff confirmed is no longer the number of recipients."""

    def __init__(self, message, now: int) -> None:
        super().__init__(message)
        self.now = now


def _count(query) -> int:
    return db.session.scalar(select(func.count()).select_from(query.subquery())) or 0


def audience_is_known(mailing: Mailing) -> bool:
    """A reminder or cancellation notice can be counted once its announcement has finished going out."""
    if mailing.kind in (MailingKind.REMINDER, MailingKind.CANCELLATION):
        return mailing.parent is None or mailing.parent.status not in GOING_OUT
    return True


def summarise_audience(mailing: Mailing) -> AudienceSummary:
    """Count the recipients by language and by topic, and those left out because of a pause or the digest."""
    if not audience_is_known(mailing) or not mailing.topics:
        return AudienceSummary(0, known=audience_is_known(mailing))
    recipients = eligible_subscribers(mailing).subquery()
    by_language = dict(db.session.execute(
        select(Subscriber.language, func.count()).join(recipients, recipients.c.id == Subscriber.id)
        .group_by(Subscriber.language)).all())
    topic_counts = dict(db.session.execute(
        select(Subscription.topic_id, func.count()).join(recipients, recipients.c.id == Subscription.subscriber_id)
        .where(Subscription.status == SubscriptionStatus.CONFIRMED,
               Subscription.topic_id.in_([topic.id for topic in mailing.topics]))
        .group_by(Subscription.topic_id)).all())
    total = sum(by_language.values())
    with_paused = _count(eligible_subscribers(mailing, counting_paused=True))
    with_digest_only = _count(eligible_subscribers(mailing, counting_paused=True, counting_digest_only=True))
    return AudienceSummary(
        total=total,
        by_language={language: by_language[language] for language in sorted(by_language)},
        by_topic=[(topic, topic_counts.get(topic.id, 0)) for topic in sorted(mailing.topics, key=lambda t: t.id)],
        paused=with_paused - total,
        digest_only=with_digest_only - with_paused,
    )


def check_audience(mailing: Mailing, expected: int | None) -> AudienceSummary:
    """Refuse an audience of nobody, and a count staff confirmed that is no longer true; return the summary.

    `expected` is the number the staff member saw and confirmed; None (nothing confirmed) is
    refused too, unless the audience cannot be known yet (then no number was shown).
    """
    summary = summarise_audience(mailing)
    if not summary.known:
        return summary
    if summary.total == 0:
        raise EmptyAudience(_l(
            "Nobody would get this mailing: its audience is empty now. Change its topics or language, "
            "or wait until someone has subscribed."))
    if expected is None:
        raise AudienceChanged(_l("Please confirm that the mailing goes to %(now)s recipients.", now=summary.total),
                              summary.total)
    if expected != summary.total:
        raise AudienceChanged(_l(
            "The audience has changed since the page was shown: it is now %(now)s recipients, not %(then)s. "
            "Check the numbers and confirm again.", now=summary.total, then=expected), summary.total)
    return summary


def sample_readers(mailing: Mailing) -> dict[str, Subscriber]:
    """One recipient per language (the first by id), to preview the mailing as each would get it."""
    if not audience_is_known(mailing) or not mailing.topics:
        return {}
    recipients = eligible_subscribers(mailing).subquery()
    first_ids = select(func.min(Subscriber.id)).join(recipients, recipients.c.id == Subscriber.id).group_by(
        Subscriber.language)
    readers = db.session.scalars(select(Subscriber).where(Subscriber.id.in_(first_ids)))
    return {reader.language: reader for reader in sorted(readers, key=lambda r: r.language)}
