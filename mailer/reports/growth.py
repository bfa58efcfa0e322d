"""Subscribers week by week (new, confirmed, unsubscribed, bounced), and the pending opt-ins.

Read from the consent ledger, grouped by the Copenhagen week in the database: one query for a
year of weeks, whatever the size of the list. "New" is a signup, "confirmed" a double opt-in,
"unsubscribed" a withdrawal by the person, "bounced" an address that bounced or complained.
Each counts people, not rows: someone who confirms three topics in one week counts once.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import and_, func, or_, select

from mailer import clock
from mailer.extensions import db
from mailer.models import ConsentAction, ConsentChannel, ConsentEvent, Subscriber, SubscriberStatus, Subscription, SubscriptionStatus
from mailer.sending.sql import on_postgresql

WEEKS = 52
SERIES = ("new", "confirmed", "unsubscribed", "bounced")


@dataclass(frozen=True)
class Week:
    start: date          # the Monday the week starts on (Copenhagen)
    new: int = 0
    confirmed: int = 0
    unsubscribed: int = 0
    bounced: int = 0


def _week_of(column):
    if on_postgresql():
        return func.date_trunc("week", func.timezone(clock.COPENHAGEN.key, column))
    return func.date(column, "weekday 0", "-6 days")  # SQLite: the Monday of the week (UTC)


def _as_date(value) -> date:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    return date.fromisoformat(str(value)[:10])


def _monday(day: date) -> date:
    return day - timedelta(days=day.weekday())


def weekly_subscribers(topic_id: int | None = None, weeks: int = WEEKS) -> list[Week]:
    """The last `weeks` weeks, oldest first, for all topics or for one."""
    this_week = _monday(clock.utc_to_local(clock.utcnow()).date())
    first = this_week - timedelta(weeks=weeks - 1)
    since = clock.local_to_utc(datetime.combine(first, datetime.min.time()))
    people = ConsentEvent.subscriber_id.distinct()
    by_bounce = ConsentEvent.channel == ConsentChannel.BOUNCE
    bounced = or_(ConsentEvent.action == ConsentAction.BOUNCED,
                  and_(ConsentEvent.action == ConsentAction.UNSUBSCRIBE, by_bounce))
    week = _week_of(ConsentEvent.created_at).label("week")
    query = (select(week,
                    func.count(people).filter(ConsentEvent.action == ConsentAction.SIGNUP),
                    func.count(people).filter(ConsentEvent.action == ConsentAction.CONFIRM),
                    func.count(people).filter(and_(ConsentEvent.action == ConsentAction.UNSUBSCRIBE, ~by_bounce)),
                    func.count(people).filter(bounced))
             .where(ConsentEvent.created_at >= since,
                    ConsentEvent.action.in_([ConsentAction.SIGNUP, ConsentAction.CONFIRM,
                                             ConsentAction.UNSUBSCRIBE, ConsentAction.BOUNCED]))
             .group_by(week))
    if topic_id is not None:
        # A hard bounce is about the address, not a topic: it counts for the topics the person had.
        had_topic = ConsentEvent.subscriber_id.in_(select(Subscription.subscriber_id).where(Subscription.topic_id == topic_id))
        query = query.where(or_(ConsentEvent.topic_id == topic_id,
                                and_(ConsentEvent.action == ConsentAction.BOUNCED, had_topic)))
    found = {_as_date(row[0]): Week(_as_date(row[0]), *row[1:]) for row in db.session.execute(query)}
    return [found.get(first + timedelta(weeks=i), Week(first + timedelta(weeks=i))) for i in range(weeks)]


@dataclass(frozen=True)
class OptIns:
    pending: int            # subscribers waiting to confirm now
    signups_30_days: int    # people who signed up in the last 30 days
    confirmed_30_days: int  # of them, those who have confirmed since

    @property
    def rate(self) -> float | None:
        return self.confirmed_30_days / self.signups_30_days if self.signups_30_days else None


def opt_ins(days: int = 30) -> OptIns:
    """Opt-ins waiting for confirmation, and how many of the last `days` days' signups confirmed."""
    since = clock.utcnow() - timedelta(days=days)
    pending = db.session.scalar(select(func.count()).select_from(Subscriber)
                                .where(Subscriber.status == SubscriberStatus.PENDING)) or 0
    signup = ConsentEvent.__table__.alias("signup")
    confirm = ConsentEvent.__table__.alias("confirm")
    row = db.session.execute(
        select(func.count(signup.c.subscriber_id.distinct()), func.count(confirm.c.subscriber_id.distinct()))
        .select_from(signup.outerjoin(confirm, and_(confirm.c.subscriber_id == signup.c.subscriber_id,
                                                    confirm.c.action == ConsentAction.CONFIRM,
                                                    confirm.c.created_at >= signup.c.created_at)))
        .where(signup.c.action == ConsentAction.SIGNUP, signup.c.created_at >= since)).one()
    return OptIns(pending, row[0], row[1])


def confirmed_now(topic_id: int | None = None) -> int:
    """Confirmed subscribers now: of the whole list, or of one topic."""
    if topic_id is None:
        query = select(func.count()).select_from(Subscriber).where(Subscriber.status == SubscriberStatus.CONFIRMED)
    else:
        query = select(func.count()).select_from(Subscription).where(
            Subscription.topic_id == topic_id, Subscription.status == SubscriptionStatus.CONFIRMED)
    return db.session.scalar(query) or 0


