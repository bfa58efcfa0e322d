"""Topics staff run: create, rename and describe, order, make private, archive, delete.

Every change is recorded in TopicChange (who, when, what). A topic that has reached people
(a mailing to it has been sent or is going out) cannot be deleted, only archived: its history
stays. Archiving hides it from the public forms (lifecycle.public_topics) and stops new mail
to it (the audience rule, mailer/sending/audience.py). Renaming changes nothing a subscriber
agreed to: the consent ledger stores the name they saw (mailer/subscribers/consent.py).
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from sqlalchemy import exists, func, select

from mailer import clock
from mailer.extensions import db
from mailer.models import Mailing, Subscription, SubscriptionStatus, Topic, TopicChange, TopicChangeAction
from mailer.models.mailing import REACHED_PEOPLE, mailing_topic

TEXT_FIELDS = ("name_da", "name_en", "description_da", "description_en")


class TopicRefused(ValueError):
    """A change the rules do not allow; `reason` says which."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class TopicText:
    name_da: str
    name_en: str
    description_da: str = ""
    description_en: str = ""
    is_public: bool = True


@dataclass(frozen=True)
class TopicRow:
    topic: Topic
    confirmed: int       # confirmed subscriptions
    has_sent: bool       # a mailing to it has reached people: it can only be archived


def _record(topic: Topic, staff_id: int | None, action: TopicChangeAction, detail: str | None = None) -> None:
    db.session.add(TopicChange(topic_id=topic.id, staff_id=staff_id, action=action, detail=detail))


def _slug_for(text: str) -> str:
    base = re.sub(r"[^a-z0-9]+", "-", text.lower().translate(str.maketrans("æøå", "eoa"))).strip("-")[:50] or "topic"
    slug, n = base, 2
    while db.session.scalar(select(exists().where(Topic.slug == slug))):
        slug, n = f"{base}-{n}", n + 1
    return slug


def topic_rows() -> list[TopicRow]:
    """Every topic in order, with its confirmed subscribers and whether it has sent mail (two queries)."""
    topics = list(db.session.scalars(select(Topic).order_by(Topic.archived_at.is_not(None), Topic.position, Topic.id)))
    counts = dict(db.session.execute(
        select(Subscription.topic_id, func.count()).where(Subscription.status == SubscriptionStatus.CONFIRMED)
        .group_by(Subscription.topic_id)).all())
    sent = set(db.session.scalars(
        select(mailing_topic.c.topic_id).join(Mailing, Mailing.id == mailing_topic.c.mailing_id)
        .where(Mailing.status.in_(REACHED_PEOPLE)).distinct()))
    return [TopicRow(t, counts.get(t.id, 0), t.id in sent) for t in topics]


def has_sent_mail(topic_id: int) -> bool:
    return bool(db.session.scalar(select(exists().where(
        mailing_topic.c.topic_id == topic_id, mailing_topic.c.mailing_id == Mailing.id,
        Mailing.status.in_(REACHED_PEOPLE)))))


def create_topic(text: TopicText, staff_id: int | None) -> Topic:
    """Add a topic at the end of the order."""
    last = db.session.scalar(select(func.max(Topic.position))) or 0
    topic = Topic(slug=_slug_for(text.name_en or text.name_da), position=last + 1, **text.__dict__)
    db.session.add(topic)
    db.session.flush()
    _record(topic, staff_id, TopicChangeAction.CREATE, f"{text.name_da} / {text.name_en}")
    return topic


def edit_topic(topic: Topic, text: TopicText, staff_id: int | None) -> list[str]:
    """Change names, descriptions and visibility; record what changed (old → new); return the fields."""
    changed = []
    for field, value in text.__dict__.items():
        old = getattr(topic, field)
        if old != value:
            changed.append(f"{field}: {old} → {value}")
            setattr(topic, field, value)
    if changed:
        _record(topic, staff_id, TopicChangeAction.EDIT, "; ".join(changed)[:500])
    return changed


def move_topic(topic: Topic, step: int, staff_id: int | None) -> None:
    """Move a topic one place up (-1) or down (+1) among the topics that are not archived."""
    order = list(db.session.scalars(select(Topic).filter_by(archived_at=None).order_by(Topic.position, Topic.id)))
    if topic not in order:
        raise TopicRefused("archived")
    index = order.index(topic)
    target = index + step
    if not 0 <= target < len(order):
        return
    order[index], order[target] = order[target], order[index]
    for position, each in enumerate(order, start=1):
        each.position = position
    _record(topic, staff_id, TopicChangeAction.MOVE, f"{index + 1} → {target + 1}")


def archive_topic(topic: Topic, staff_id: int | None) -> None:
    if topic.archived_at is None:
        topic.archived_at = clock.utcnow()
        _record(topic, staff_id, TopicChangeAction.ARCHIVE)


def restore_topic(topic: Topic, staff_id: int | None) -> None:
    if topic.archived_at is not None:
        topic.archived_at = None
        _record(topic, staff_id, TopicChangeAction.RESTORE)


def delete_topic(topic: Topic, staff_id: int | None) -> None:
    """Delete a topic that never reached anyone; one with sent mailings can only be archived."""
    if has_sent_mail(topic.id):
        raise TopicRefused("has_sent")
    _record(topic, staff_id, TopicChangeAction.DELETE, f"{topic.name_da} / {topic.name_en}")
    db.session.delete(topic)


def history(topic_id: int) -> list[TopicChange]:
    return list(db.session.scalars(select(TopicChange).filter_by(topic_id=topic_id)
                                   .order_by(TopicChange.created_at.desc(), TopicChange.id.desc())))
