"""Subscribers week by week (new, confirmed, unsubscribed, bounced), and the pending opt-ins.

Read from the consent ledger, grouped by the Copenhagen week in the database. A finished week
never changes, so its counts are kept in a rollup (SubscriberWeek) the first time they are
needed; the dashboard then reads 52 small rows and counts only the current week live. "New" is a signup, "confirmed" a double opt-in,
"unsubscribed" a withdrawal by the person, "bounced" an address that bounced or complained.
Each counts people, not rows: someone who confirms three topics in one week counts once.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import and_, case, func, literal, select

from mailer import clock
from mailer.extensions import db
from mailer.models import (
    ConsentAction, ConsentChannel, ConsentEvent, Subscriber, SubscriberStatus, Subscription, SubscriptionStatus,
)
from mailer.models.report import ALL_TOPICS, SubscriberWeek
from mailer.sending.sql import dialect_insert, on_postgresql

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


def _utc_start(day: date) -> datetime:
    return clock.local_to_utc(datetime.combine(day, datetime.min.time()))


def _week_counts(first: date, end: date, *, per_topic: bool, topic_id: int | None = None) -> dict[tuple[date, int], dict]:
    """People per (week, topic) and series for the weeks from `first` up to `end` (a Monday, not included).

    One aggregate query: each person counted once per week and series (one hashed DISTINCT),
    for all topics together (topic ALL_TOPICS), for each topic (`per_topic`), or for one.
    """
    by_bounce = ConsentEvent.channel == ConsentChannel.BOUNCE
    series = case(
        (ConsentEvent.action == ConsentAction.SIGNUP, "new"),
        (ConsentEvent.action == ConsentAction.CONFIRM, "confirmed"),
        (and_(ConsentEvent.action == ConsentAction.UNSUBSCRIBE, ~by_bounce), "unsubscribed"),
        else_="bounced").label("series")
    week = _week_of(ConsentEvent.created_at).label("week")
    conditions = [ConsentEvent.created_at >= _utc_start(first), ConsentEvent.created_at < _utc_start(end),
                  ConsentEvent.action.in_([ConsentAction.SIGNUP, ConsentAction.CONFIRM,
                                           ConsentAction.UNSUBSCRIBE, ConsentAction.BOUNCED])]
    if per_topic or topic_id is not None:
        # A hard bounce is about the address, not a topic: it counts for the topics the person had.
        topic = func.coalesce(ConsentEvent.topic_id, Subscription.topic_id).label("topic")
        source = ConsentEvent.__table__.outerjoin(Subscription.__table__, and_(
            ConsentEvent.topic_id.is_(None), ConsentEvent.action == ConsentAction.BOUNCED,
            Subscription.subscriber_id == ConsentEvent.subscriber_id))
        if topic_id is not None:
            conditions.append(func.coalesce(ConsentEvent.topic_id, Subscription.topic_id) == topic_id)
        else:
            conditions.append(func.coalesce(ConsentEvent.topic_id, Subscription.topic_id).is_not(None))
    else:
        topic = literal(ALL_TOPICS).label("topic")
        source = ConsentEvent.__table__
    people = (select(week, topic, series, ConsentEvent.subscriber_id).select_from(source)
              .where(*conditions).distinct().subquery())
    query = (select(people.c.week, people.c.topic, people.c.series, func.count())
             .group_by(people.c.week, people.c.topic, people.c.series))
    counts: dict[tuple[date, int], dict] = {}
    for week_value, topic_value, name, count in db.session.execute(query):
        counts.setdefault((_as_date(week_value), int(topic_value)), {})[name] = count
    return counts


def _fill_rollup(first: date, this_week: date) -> None:
    """Work out and keep the finished weeks the rollup lacks (once; afterwards a read of 52 rows)."""
    have = set(db.session.scalars(select(SubscriberWeek.week_start).where(
        SubscriberWeek.topic_id == ALL_TOPICS, SubscriberWeek.week_start >= first,
        SubscriberWeek.week_start < this_week)))
    missing = [w for w in (first + timedelta(weeks=i) for i in range((this_week - first).days // 7)) if w not in have]
    if not missing:
        return
    start, end = missing[0], missing[-1] + timedelta(weeks=1)
    counts = _week_counts(start, end, per_topic=False)
    counts.update(_week_counts(start, end, per_topic=True))
    rows = [{"week_start": week, "topic_id": ALL_TOPICS, **counts.get((week, ALL_TOPICS), {})} for week in missing]
    rows += [{"week_start": week, "topic_id": topic, **values} for (week, topic), values in counts.items()
             if topic != ALL_TOPICS and week in set(missing)]
    rows = [{"new": 0, "confirmed": 0, "unsubscribed": 0, "bounced": 0, **row} for row in rows]
    db.session.execute(dialect_insert()(SubscriberWeek).values(rows).on_conflict_do_nothing())
    db.session.commit()  # a cache of finished weeks: kept at once, so the next view reads it


def weekly_subscribers(topic_id: int | None = None, weeks: int = WEEKS) -> list[Week]:
    """The last `weeks` weeks, oldest first, for all topics or for one.

    Finished weeks come from the rollup (SubscriberWeek), filled on first need; the current
    week is counted live from the ledger (an index range over this week's rows).
    """
    this_week = _monday(clock.utc_to_local(clock.utcnow()).date())
    first = this_week - timedelta(weeks=weeks - 1)
    _fill_rollup(first, this_week)
    scope = ALL_TOPICS if topic_id is None else topic_id
    found = {row.week_start: Week(row.week_start, row.new, row.confirmed, row.unsubscribed, row.bounced)
             for row in db.session.scalars(select(SubscriberWeek).where(
                 SubscriberWeek.topic_id == scope, SubscriberWeek.week_start >= first))}
    live = _week_counts(this_week, this_week + timedelta(weeks=1), per_topic=False, topic_id=topic_id)
    for (week, _), values in live.items():
        found[week] = Week(week, **values)
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
    # One pass over the window's ledger rows (an index range on created_at), grouped per person.
    per_person = (select(
        func.min(ConsentEvent.created_at).filter(ConsentEvent.action == ConsentAction.SIGNUP).label("signed"),
        func.max(ConsentEvent.created_at).filter(ConsentEvent.action == ConsentAction.CONFIRM).label("confirmed"))
        .where(ConsentEvent.created_at >= since,
               ConsentEvent.action.in_([ConsentAction.SIGNUP, ConsentAction.CONFIRM]))
        .group_by(ConsentEvent.subscriber_id).subquery())
    row = db.session.execute(
        select(func.count(), func.count().filter(per_person.c.confirmed >= per_person.c.signed))
        .where(per_person.c.signed.is_not(None))).one()
    return OptIns(pending, row[0], row[1])


def confirmed_now(topic_id: int | None = None) -> int:
    """Confirmed subscribers now: of the whole list, or of one topic."""
    if topic_id is None:
        query = select(func.count()).select_from(Subscriber).where(Subscriber.status == SubscriberStatus.CONFIRMED)
    else:
        query = select(func.count()).select_from(Subscription).where(
            Subscription.topic_id == topic_id, Subscription.status == SubscriptionStatus.CONFIRMED)
    return db.session.scalar(query) or 0


