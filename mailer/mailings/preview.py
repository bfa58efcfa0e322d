"""Preview a mailing as a chosen subscriber, send tests, and record the pre-send check.

Everything here renders through CompiledMailing and builds messages the way the
sending engine does, so what staff see and test is what subscribers get.
"""
from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import timedelta

from sqlalchemy import func, select

from mailer.languages import LANGUAGES
from mailer.mailings import versions
from mailer.mailings.presend import Warning, presend_warnings, warnings_to_json
from mailer import clock, outgoing
from mailer.extensions import db
from mailer.mail.transports import Transport
from mailer.composing.rendering import strip_markers
from mailer.models import Event, Mailing, MailingKind, MailTemplate, StaffUser, Subscriber, SubscriberStatus, TestSend, Topic
from mailer.sending.deliveries import Recipient
from mailer.composing.mailing import CompiledMailing, PersonalMessage, placeholder_recipient
from mailer.subscribers.lifecycle import find_subscriber

log = logging.getLogger(__name__)

TEST_PREFIX = "[TEST] "
MAX_TEST_ADDRESSES = 10
# Test mails (addresses) one member of staff may send in any hour, counted in the database so
# every web process sees the same count.
TEST_SENDS_PER_HOUR = 30


class TestAddressRefused(ValueError):
    """Editors send tests only to staff addresses, unless an admin allowed them any address."""

    __test__ = False

    def __init__(self, addresses: list[str]) -> None:
        super().__init__("not staff addresses: " + ", ".join(addresses))
        self.addresses = addresses


class TestLimitReached(ValueError):
    """This member of staff has sent TEST_SENDS_PER_HOUR test mails in the last hour."""

    __test__ = False


class MailingMissing(LookupError):
    """No mailing (or subscriber) with that id."""


def _mailing(mailing_id: int) -> Mailing:
    mailing = db.session.get(Mailing, mailing_id)
    if mailing is None:
        raise MailingMissing(f"mailing {mailing_id} does not exist")
    return mailing


def _as_recipient(subscriber: Subscriber, language: str) -> Recipient:
    return Recipient(delivery_id=0, subscriber_id=subscriber.id, email=subscriber.email, name=subscriber.name,
                     language=language, public_id=subscriber.public_id, token_secret=subscriber.token_secret,
                     attempts=0)


def preview_language(mailing: Mailing, subscriber: Subscriber | None, fallback: str = "da") -> str:
    """The language the subscriber would get the mailing in: theirs (a sample reader: the audience's, or `fallback`)."""
    if subscriber is not None:
        return subscriber.language
    return mailing.audience_language or fallback


def render_preview(mailing_id: int, subscriber_id: int | None, language: str | None = None) -> PersonalMessage:
    """Render the mailing as this subscriber would get it (or a sample subscriber when None), with inert links."""
    mailing = _mailing(mailing_id)
    subscriber = None
    if subscriber_id is not None:
        subscriber = db.session.get(Subscriber, subscriber_id)
        if subscriber is None:
            raise MailingMissing(f"subscriber {subscriber_id} does not exist")
    chosen = preview_language(mailing, subscriber, language or "da")
    compiled = CompiledMailing(mailing, chosen, preview=True)
    recipient = _as_recipient(subscriber, chosen) if subscriber else placeholder_recipient(language=chosen)
    return compiled.personalise(recipient)


def render_unsaved(texts: dict[str, str], language: str, *, topic_ids: Sequence[int] = (), event_id: int | None = None,
                   template_id: int | None = None, kind: str = MailingKind.ANNOUNCEMENT) -> PersonalMessage:
    """Render text not saved yet (the editor's live preview) as a sample reader of `language` gets it.

    `texts` holds the versions' fields (subject_da, …). Nothing is stored: the mailing is
    built in memory, kept out of the session, and its links are inert.
    """
    mailing = Mailing(kind=kind, template_id=template_id if db.session.get(MailTemplate, template_id or 0) else None,
                      **{column: strip_markers(texts.get(column) or "") for column in versions.version_columns()})
    mailing.topics = list(db.session.scalars(select(Topic).where(Topic.id.in_(list(topic_ids))))) if topic_ids else []
    mailing.event = db.session.get(Event, event_id) if event_id else None
    try:
        return CompiledMailing(mailing, language, preview=True).personalise(placeholder_recipient(language=language))
    finally:
        if mailing in db.session:
            db.session.expunge(mailing)


def find_subscribers(query: str, limit: int = 20) -> list[Subscriber]:
    """Confirmed subscribers whose address contains `query` (for the preview's picker)."""
    query = query.strip().lower()[:254]
    if not query:
        return []
    pattern = "%" + query.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
    return list(db.session.scalars(
        select(Subscriber)
        .where(Subscriber.status == SubscriberStatus.CONFIRMED, func.lower(Subscriber.email).like(pattern, escape="\\"))
        .order_by(Subscriber.email).limit(limit)
    ))


def fallback_warnings(mailing: Mailing) -> list[Warning]:
    """"N English readers will get the Danish text": one warning per empty version that real readers will get."""
    return [Warning(f"fallback_{fallback.language}", fallback.message()) for fallback in versions.fallbacks(mailing)]


def check_mailing(mailing_id: int) -> list[Warning]:
    """Run the pre-send check on every language the mailing goes out in, and count the readers of an empty version."""
    mailing = _mailing(mailing_id)
    warnings: dict[str, Warning] = {w.code: w for w in fallback_warnings(mailing)}
    for language in ([mailing.audience_language] if mailing.audience_language else LANGUAGES):
        message = CompiledMailing(mailing, language).personalise(placeholder_recipient(language=language))
        for warning in presend_warnings(message.subject, mailing.preheader_for(language), message.html, message.text):
            warnings.setdefault(warning.code, warning)
    return list(warnings.values())


def record_presend_warnings(mailing_id: int) -> list[Warning]:
    """Run the check and store its warnings on the mailing (they never block sending); the caller commits."""
    warnings = check_mailing(mailing_id)
    mailing = _mailing(mailing_id)
    mailing.presend_warnings = warnings_to_json(warnings)
    if warnings:
        log.info("mailing %s has pre-send warnings: %s", mailing_id, ", ".join(w.code for w in warnings))
    return warnings


def allow_test_send(staff_user_id: int, mailing_id: int, addresses: Sequence[str]) -> None:
    """Check the sender's right to these test addresses and the hourly limit, and count them. Commits.

    Raises TestAddressRefused or TestLimitReached, and then counts nothing. The staff row is
    locked meanwhile, so two requests cannot both pass the limit.
    """
    staff = db.session.scalar(select(StaffUser).where(StaffUser.id == staff_user_id).with_for_update())
    if staff is None:
        raise LookupError(f"staff account {staff_user_id} does not exist")
    if not (staff.is_admin or staff.test_any_address):
        staff_addresses = set(db.session.scalars(
            select(func.lower(StaffUser.email)).where(StaffUser.active.is_(True))))
        outside = [address for address in addresses if address.strip().lower() not in staff_addresses]
        if outside:
            db.session.rollback()
            raise TestAddressRefused(outside)
    since = clock.utcnow() - timedelta(hours=1)
    sent = db.session.scalar(select(func.coalesce(func.sum(TestSend.recipients), 0))
                             .where(TestSend.staff_user_id == staff_user_id, TestSend.sent_at > since))
    if sent + len(addresses) > TEST_SENDS_PER_HOUR:
        db.session.rollback()
        raise TestLimitReached(f"{sent} test mails in the last hour")
    db.session.add(TestSend(staff_user_id=staff_user_id, mailing_id=mailing_id, recipients=len(addresses),
                            sent_at=clock.utcnow()))
    db.session.commit()


def send_test(mailing_id: int, addresses: Sequence[str], transport: Transport | None = None,
              language: str | None = None, *, staff_user_id: int | None = None) -> list[str]:
    """Send the mailing to staff-entered addresses with "[TEST] " in front; return the Message-IDs.

    The message is built like the engine builds it (List-Id, List-Unsubscribe, attachments,
    DKIM when configured), personalised for a placeholder recipient named "Test". With
    `staff_user_id`, the addresses and the hourly limit are checked first (allow_test_send).
    """
    if not addresses:
        raise ValueError("no test addresses")
    if len(addresses) > MAX_TEST_ADDRESSES:
        raise ValueError(f"at most {MAX_TEST_ADDRESSES} test addresses")
    mailing = _mailing(mailing_id)
    if staff_user_id is not None:
        allow_test_send(staff_user_id, mailing_id, addresses)
    chosen = mailing.audience_language or language or "da"
    compiled = CompiledMailing(mailing, chosen)
    builder = outgoing.message_builder({"List-Id": outgoing.list_id()})
    # The transport real sends use: a fresh SMTP connection, or the shared outbox / memory one.
    opened = [] if transport is not None else outgoing.open_run_transports(1)
    transport = transport or opened[0]
    message_ids = []
    try:
        for address in addresses:
            # A test to a subscriber's own address carries their real, working links.
            subscriber = find_subscriber(address)
            recipient = (_as_recipient(subscriber, chosen) if subscriber
                         else placeholder_recipient(email=address, name="Test", language=chosen))
            message = compiled.personalise(recipient)
            built = builder.build(to=address, subject=TEST_PREFIX + message.subject, text=message.text,
                                  html=message.html, headers=message.headers, attachments=message.attachments)
            outgoing.send_one(address, built.data, transport)
            message_ids.append(built.message_id)
    finally:
        outgoing.close_run_transports(opened)
    log.info("test of mailing %s sent to %s address(es)", mailing_id, len(message_ids))
    return message_ids
