"""Apply a checked CSV import in bulk: new addresses become pending (or confirmed with attested consent).

Re-importing the same file changes nothing: known addresses are "unchanged" and get no new
ledger rows or opt-in mails. See mailer/subscribers/csv_rows.py for how rows are checked.
"""
from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from sqlalchemy import func, insert, select, update

from mailer.extensions import db
from mailer.models import (
    ConsentAction,
    ConsentChannel,
    ConsentEvent,
    Subscriber,
    SubscriberStatus,
    Subscription,
    SubscriptionStatus,
)
from mailer.models.subscriber import new_public_id, new_token_secret
from mailer import clock
from mailer.subscribers.csv_rows import BadRow, ImportPlan, ImportRow, Reason, short_value
from mailer.outbound_webhooks import events as webhook_events

log = logging.getLogger(__name__)

CHUNK = 500


@dataclass
class ImportResult:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    bad_rows: list[BadRow] = field(default_factory=list)
    # Subscribers who now owe an opt-in mail; the caller queues it after the commit.
    mail_subscriber_ids: list[int] = field(default_factory=list)


def _chunks(items: Sequence, size: int = CHUNK) -> Iterable[Sequence]:
    for start in range(0, len(items), size):
        yield items[start:start + size]


def _existing(emails: list[str]) -> dict[str, tuple[int, str]]:
    """Return {lower-cased address: (id, status)} of the known ones, looked up in chunks."""
    found = {}
    for chunk in _chunks(emails):
        for subscriber_id, email, status in db.session.execute(
            select(Subscriber.id, func.lower(Subscriber.email), Subscriber.status)
            .where(func.lower(Subscriber.email).in_(chunk))
        ):
            found[email] = (subscriber_id, status)
    return found


def _subscriptions(subscriber_ids: list[int]) -> dict[int, dict[int, tuple[int, str]]]:
    """Return {subscriber id: {topic id: (subscription id, status)}}."""
    found: dict[int, dict[int, tuple[int, str]]] = {}
    for chunk in _chunks(subscriber_ids):
        for subscription_id, subscriber_id, topic_id, status in db.session.execute(
            select(Subscription.id, Subscription.subscriber_id, Subscription.topic_id, Subscription.status)
            .where(Subscription.subscriber_id.in_(chunk))
        ):
            found.setdefault(subscriber_id, {})[topic_id] = (subscription_id, status)
    return found


class _Batch:
    """Rows to write in bulk at the end of an import."""

    def __init__(self, attest: bool, staff_email: str) -> None:
        self.now = clock.utcnow()
        self.attest = attest
        self.subscriptions: list[dict] = []
        self.confirm_subscription_ids: list[int] = []
        self.events: list[dict] = []
        self.newly_confirmed: dict[int, list[int]] = {}  # subscriber id -> topics, for subscriber.confirmed
        self.signup_detail = f"imported by {staff_email}"[:300]
        self.confirm_detail = f"prior consent attested by {staff_email}"[:300]

    def event(self, subscriber_id: int, topic_id: int, action: ConsentAction) -> None:
        detail = self.confirm_detail if self.attest else self.signup_detail
        self.events.append({
            "subscriber_id": subscriber_id, "topic_id": topic_id, "action": action,
            "channel": ConsentChannel.IMPORT, "detail": detail, "created_at": self.now,
        })

    def add_topic(self, subscriber_id: int, topic_id: int) -> None:
        status = SubscriptionStatus.CONFIRMED if self.attest else SubscriptionStatus.UNCONFIRMED
        self.subscriptions.append({
            "subscriber_id": subscriber_id, "topic_id": topic_id, "status": status,
            "created_at": self.now, "updated_at": self.now,
        })
        self.event(subscriber_id, topic_id, ConsentAction.SIGNUP)
        if self.attest:
            self.event(subscriber_id, topic_id, ConsentAction.CONFIRM)

    def confirm_topic(self, subscriber_id: int, subscription_id: int, topic_id: int) -> None:
        self.confirm_subscription_ids.append(subscription_id)
        self.event(subscriber_id, topic_id, ConsentAction.CONFIRM)


def apply_import(
    plan: ImportPlan, *, attest_consent: bool, staff_email: str, topic_default: Sequence[int]
) -> ImportResult:
    """Create or extend subscribers from a checked plan, in bulk; the caller commits and queues the mails.

    Without attestation, new topics are unconfirmed and an opt-in mail is owed; with it,
    they are confirmed and the ledger says who attested. Addresses that left or bounced
    are not brought back. Running the same plan twice changes nothing the second time.
    """
    result = ImportResult(bad_rows=list(plan.bad_rows))
    batch = _Batch(attest_consent, staff_email)
    default_topics = tuple(sorted(set(topic_default)))
    rows = []
    for row in plan.rows:
        if not (row.topic_ids or default_topics):
            result.bad_rows.append(BadRow(row.row, short_value(row.email), Reason.NO_TOPICS))
        else:
            rows.append(row)
    existing = _existing([row.email.lower() for row in rows])
    new_rows = [row for row in rows if row.email.lower() not in existing]
    known_rows = [row for row in rows if row.email.lower() in existing]

    _create(new_rows, default_topics, batch, result)
    _extend(known_rows, existing, default_topics, batch, result)

    if batch.subscriptions:
        db.session.execute(insert(Subscription.__table__), batch.subscriptions)
    for chunk in _chunks(batch.confirm_subscription_ids):
        db.session.execute(
            update(Subscription).where(Subscription.id.in_(chunk))
            .values(status=SubscriptionStatus.CONFIRMED, updated_at=batch.now),
            execution_options={"synchronize_session": False},
        )
    if batch.events:
        db.session.execute(insert(ConsentEvent.__table__), batch.events)
    webhook_events.subscribers_confirmed(batch.newly_confirmed)
    result.bad_rows.sort(key=lambda bad_row: bad_row.row)
    log.info(
        "import by %s: %s created, %s updated, %s unchanged, %s bad rows",
        staff_email, result.created, result.updated, result.unchanged, len(result.bad_rows),
    )
    return result


def _create(rows: list[ImportRow], default_topics: tuple[int, ...], batch: _Batch, result: ImportResult) -> None:
    if not rows:
        return
    attest = batch.attest
    values = [
        {
            "public_id": new_public_id(), "token_secret": new_token_secret(), "email": row.email, "name": row.name,
            "language": row.language, "created_at": batch.now,
            "status": SubscriberStatus.CONFIRMED if attest else SubscriberStatus.PENDING,
            "confirmed_at": batch.now if attest else None,
            "link_requested_at": None if attest else batch.now,
        }
        for row in rows
    ]
    ids: dict[str, int] = {}
    table = Subscriber.__table__  # Core inserts: the ORM's per-row bookkeeping costs seconds at 10,000 rows
    for chunk in _chunks(values, 1000):
        for subscriber_id, email in db.session.execute(
            insert(table).returning(table.c.id, table.c.email), list(chunk)
        ):
            ids[email.lower()] = subscriber_id
    for row in rows:
        subscriber_id = ids[row.email.lower()]
        for topic_id in row.topic_ids or default_topics:
            batch.add_topic(subscriber_id, topic_id)
        if attest:
            batch.newly_confirmed[subscriber_id] = list(row.topic_ids or default_topics)
        else:
            result.mail_subscriber_ids.append(subscriber_id)
    result.created += len(rows)


def _extend(
    rows: list[ImportRow], existing: dict[str, tuple[int, str]], default_topics: tuple[int, ...],
    batch: _Batch, result: ImportResult,
) -> None:
    """Add the file's new topics to known subscribers; never undo a withdrawal or a bounce.

    A topic the subscriber left themselves stays left: the row then counts as unchanged.
    """
    subscriptions = _subscriptions([existing[row.email.lower()][0] for row in rows])
    owe_mail: list[int] = []
    now_confirmed: list[int] = []
    for row in rows:
        subscriber_id, status = existing[row.email.lower()]
        if status in (SubscriberStatus.UNSUBSCRIBED, SubscriberStatus.BOUNCED):
            reason = Reason.UNSUBSCRIBED if status == SubscriberStatus.UNSUBSCRIBED else Reason.BOUNCED
            result.bad_rows.append(BadRow(row.row, short_value(row.email), reason))
            continue
        held = subscriptions.get(subscriber_id, {})
        changed = []
        for topic_id in row.topic_ids or default_topics:
            if topic_id not in held:
                batch.add_topic(subscriber_id, topic_id)
                changed.append(topic_id)
            elif held[topic_id][1] == SubscriptionStatus.UNCONFIRMED and batch.attest:
                batch.confirm_topic(subscriber_id, held[topic_id][0], topic_id)
                changed.append(topic_id)
        if batch.attest and changed and status != SubscriberStatus.CONFIRMED:
            batch.newly_confirmed[subscriber_id] = changed
        if not changed:
            result.unchanged += 1
            continue
        result.updated += 1
        if batch.attest:
            now_confirmed.append(subscriber_id)
        else:
            owe_mail.append(subscriber_id)
    for chunk in _chunks(owe_mail):
        db.session.execute(
            update(Subscriber).where(Subscriber.id.in_(chunk)).values(link_requested_at=batch.now),
            execution_options={"synchronize_session": False},
        )
    for chunk in _chunks(now_confirmed):
        db.session.execute(
            update(Subscriber).where(Subscriber.id.in_(chunk), Subscriber.status != SubscriberStatus.CONFIRMED)
            .values(status=SubscriberStatus.CONFIRMED, confirmed_at=batch.now),
            execution_options={"synchronize_session": False},
        )
    result.mail_subscriber_ids.extend(owe_mail)
