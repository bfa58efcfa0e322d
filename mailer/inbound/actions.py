"""Act on one message that came back: mark bounces, count soft ones, unsubscribe complainers and mailto requests.

receive() classifies, acts and commits, and returns a one-line summary. Anything the message
does not prove changes nothing: a forged VERP token, an unknown address, an invalid unsubscribe
token, an auto-reply, a message that is not a bounce. A database error propagates, so the
listener answers 4xx and the MTA hands the message over again; a report handed over twice is
recorded once (its Message-ID, per subscriber and kind).
"""
from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import timedelta
from email.utils import parseaddr

from flask import current_app

from mailer import clock
from mailer.extensions import db
from mailer.inbound.classify import Failure, Kind, Report, classify
from mailer.inbound.verp import ForgedToken, Reference, delivery_reference
from mailer.models import (
    BounceEvent, BounceKind, ConsentChannel, Delivery, DeliveryStatus, Subscriber,
)
from mailer.subscribers.bounces import record_complaint, record_hard_bounce
from mailer.subscribers.consent import Origin
from mailer.subscribers.lifecycle import find_subscriber, unsubscribe
from mailer.tokens import InvalidToken, TokenPurpose, read_token

log = logging.getLogger(__name__)

UNSUBSCRIBE_LOCALPART = "unsubscribe"  # mailer/composing/links.py: mailto:unsubscribe@<sender's domain>
ERROR_LENGTH = 500  # Delivery.last_error


def _local_part(address: str) -> str:
    return address.strip().strip("<>").rpartition("@")[0].lower()


def receive(raw: bytes, recipients: Sequence[str]) -> str:
    """Classify one message by its envelope recipients, act on it and commit; return what was done."""
    limit = current_app.config["INBOUND_MAX_BYTES"]
    if len(raw) > limit:
        return _ignored(f"{len(raw)} bytes, over the limit of {limit}")
    to_unsubscribe = any(_local_part(r) == UNSUBSCRIBE_LOCALPART for r in recipients)
    report = classify(raw, to_unsubscribe_address=to_unsubscribe)
    if report.kind == Kind.UNSUBSCRIBE:
        return _commit(_mailto_unsubscribe(report))
    if report.kind not in (Kind.HARD, Kind.SOFT, Kind.COMPLAINT):
        return _ignored(f"{report.kind}: {report.detail}" if report.detail else str(report.kind))
    try:
        reference = next((ref for r in recipients if (ref := delivery_reference(r)) is not None), None)
    except ForgedToken as forged:
        return _ignored(f"{report.kind} to {forged}, whose VERP token does not verify")
    if report.kind == Kind.COMPLAINT:
        return _commit(_complaint(report, reference))
    return _commit(_bounce(report, reference))


def _ignored(why: str) -> str:
    log.info("inbound message ignored: %s", why)
    return f"ignored: {why}"


def _commit(summary: str) -> str:
    db.session.commit()
    log.info("inbound message: %s", summary)
    return summary


# --- who and which delivery -------------------------------------------------------------------------------

def _referenced(reference: Reference) -> tuple[Subscriber | None, Delivery | None]:
    if reference.delivery_id is not None:
        delivery = db.session.get(Delivery, reference.delivery_id)
        return (db.session.get(Subscriber, delivery.subscriber_id) if delivery else None), delivery
    subscriber = db.session.scalar(db.select(Subscriber).filter_by(public_id=reference.subscriber_public_id))
    return subscriber, None


def _delivery_by_message_id(subscriber: Subscriber, message_id: str | None) -> Delivery | None:
    if not message_id:
        return None
    bare = message_id.strip().strip("<>")
    return db.session.scalar(db.select(Delivery).where(
        Delivery.subscriber_id == subscriber.id, Delivery.message_id.in_([f"<{bare}>", bare])).limit(1))


def _targets(report: Report, reference: Reference | None) -> list[tuple[Subscriber, Delivery | None, Failure]]:
    """Each subscriber the report is about, with the delivery when known and the failure that names them."""
    if reference is not None:
        subscriber, delivery = _referenced(reference)
        if subscriber is None or not report.failures:
            return []
        # The signed return path names the recipient; the worst failure in the report is theirs.
        failure = min(report.failures, key=lambda f: (f.kind != Kind.HARD, f.kind != Kind.SOFT))
        return [(subscriber, delivery or _delivery_by_message_id(subscriber, report.original_message_id), failure)]
    targets = []
    for failure in report.failures:
        subscriber = find_subscriber(failure.address)
        if subscriber is None:
            log.info("%s for an address we do not know", failure.kind)
            continue
        targets.append((subscriber, _delivery_by_message_id(subscriber, report.original_message_id), failure))
    return targets


def _already_recorded(subscriber: Subscriber, kind: BounceKind, report_id: str | None) -> bool:
    if not report_id:
        return False
    return db.session.scalar(db.select(BounceEvent.id).filter_by(
        subscriber_id=subscriber.id, kind=kind, report_id=report_id[:300]).limit(1)) is not None


def _event(subscriber: Subscriber, kind: BounceKind, reason: str, delivery: Delivery | None,
           report_id: str | None) -> None:
    db.session.add(BounceEvent(subscriber_id=subscriber.id, kind=kind, reason=reason,
                               delivery_id=delivery.id if delivery else None,
                               mailing_id=delivery.mailing_id if delivery else None,
                               report_id=report_id[:300] if report_id else None))


# --- the actions --------------------------------------------------------------------------------------------

def _bounce(report: Report, reference: Reference | None) -> str:
    done = []
    for subscriber, delivery, failure in _targets(report, reference):
        kind = BounceKind.HARD if failure.kind == Kind.HARD else BounceKind.SOFT
        if failure.kind not in (Kind.HARD, Kind.SOFT) or _already_recorded(subscriber, kind, report.report_id):
            continue
        _event(subscriber, kind, failure.reason, delivery, report.report_id)
        if delivery is not None and delivery.status in (DeliveryStatus.SENT, DeliveryStatus.UNKNOWN):
            if kind == BounceKind.HARD:
                delivery.status = DeliveryStatus.BOUNCED
            delivery.last_error = f"{kind} bounce: {failure.reason}"[:ERROR_LENGTH]
        if kind == BounceKind.HARD:
            record_hard_bounce(subscriber, failure.reason)
            done.append(f"subscriber {subscriber.id} hard-bounced")
        else:
            done.append(f"subscriber {subscriber.id} soft-bounced" + _soft_count(subscriber, failure.reason))
    return "; ".join(done) or "ignored: no known subscriber, or already recorded"


def _soft_count(subscriber: Subscriber, reason: str) -> str:
    """Count the subscriber's soft bounces in the window; at the limit they make a bounce."""
    config = current_app.config
    limit, days = config["SOFT_BOUNCE_LIMIT"], config["SOFT_BOUNCE_DAYS"]
    since = clock.utcnow() - timedelta(days=days)
    if subscriber.confirmed_at is not None and subscriber.confirmed_at > since:
        since = subscriber.confirmed_at  # a bounced address that signed up again starts afresh
    db.session.flush()
    count = db.session.scalar(db.select(db.func.count(BounceEvent.id)).where(
        BounceEvent.subscriber_id == subscriber.id, BounceEvent.kind == BounceKind.SOFT,
        BounceEvent.created_at >= since))
    if count >= limit and record_hard_bounce(subscriber, f"{count} soft bounces in {days} days; the last: {reason}"):
        return f" ({count} in {days} days: bounced)"
    return f" ({count} in {days} days)"


def _complaint(report: Report, reference: Reference | None) -> str:
    targets: list[tuple[Subscriber, Delivery | None]] = []
    if reference is not None:
        subscriber, delivery = _referenced(reference)
        targets = [(subscriber, delivery)] if subscriber else []
    elif report.token:
        # Our mail came back whole: its List-Unsubscribe token names the subscriber, signed.
        try:
            subscriber = read_token(TokenPurpose.UNSUBSCRIBE, report.token).subscriber
            targets = [(subscriber, None)]
        except InvalidToken as error:
            log.info("complaint whose returned mail carries an %s unsubscribe token", error.reason)
    if not targets:
        targets = [(s, None) for f in report.failures if (s := find_subscriber(f.address)) is not None]
    reason = report.failures[0].reason if report.failures else "feedback report"
    done = []
    for subscriber, delivery in targets:
        if _already_recorded(subscriber, BounceKind.COMPLAINT, report.report_id):
            continue
        delivery = delivery or _delivery_by_message_id(subscriber, report.original_message_id)
        _event(subscriber, BounceKind.COMPLAINT, reason, delivery, report.report_id)
        record_complaint(subscriber, reason)
        done.append(f"subscriber {subscriber.id} complained: unsubscribed from everything")
    return "; ".join(done) or "ignored: complaint about no known subscriber, or already recorded"


def _mailto_unsubscribe(report: Report) -> str:
    """The same token as one-click, and the same change; the ledger says it came by mail."""
    try:
        claim = read_token(TokenPurpose.UNSUBSCRIBE, report.token or "")
    except InvalidToken as error:
        return f"ignored: mailto unsubscribe with an {error.reason} token"
    subscriber = claim.subscriber
    changed = unsubscribe(subscriber, Origin(ConsentChannel.MAILTO, mailing_id=claim.mailing_id), claim.topic_ids)
    sender = parseaddr(report.sender)[1] if report.sender else ""
    if changed and not _already_recorded(subscriber, BounceKind.UNSUBSCRIBE, report.report_id):
        _event(subscriber, BounceKind.UNSUBSCRIBE, f"mail to the unsubscribe address from {sender or 'unknown'}",
               None, report.report_id)
    return f"subscriber {subscriber.id} unsubscribed by mail from {changed} topics"
