"""Preview an announcement as a chosen subscriber, send tests, and record the pre-send check.

Everything here renders through CompiledAnnouncement and builds messages the way the
sending engine does, so what staff see and test is what subscribers get.
"""
from __future__ import annotations

import logging
from collections.abc import Sequence

from sqlalchemy import func, select

from mailer.announcements.presend import Warning, presend_warnings, warnings_to_json
from mailer import outgoing
from mailer.extensions import db
from mailer.mail.transports import Transport
from mailer.models import Announcement, Subscriber, SubscriberStatus
from mailer.sending.ledger import Recipient
from mailer.sending.personalize import CompiledAnnouncement, PersonalMessage, placeholder_recipient
from mailer.subscribers.lifecycle import find_subscriber

log = logging.getLogger(__name__)

TEST_PREFIX = "[TEST] "
MAX_TEST_ADDRESSES = 10


class AnnouncementMissing(LookupError):
    """No announcement (or subscriber) with that id."""


def _announcement(announcement_id: int) -> Announcement:
    announcement = db.session.get(Announcement, announcement_id)
    if announcement is None:
        raise AnnouncementMissing(f"announcement {announcement_id} does not exist")
    return announcement


def _as_recipient(subscriber: Subscriber, language: str) -> Recipient:
    return Recipient(delivery_id=0, subscriber_id=subscriber.id, email=subscriber.email, name=subscriber.name,
                     language=language, public_id=subscriber.public_id, token_secret=subscriber.token_secret,
                     attempts=0)


def preview_language(announcement: Announcement, subscriber: Subscriber | None, fallback: str = "da") -> str:
    """The language the subscriber would get the announcement in."""
    if announcement.language:
        return announcement.language
    return subscriber.language if subscriber is not None else fallback


def render_preview(announcement_id: int, subscriber_id: int | None, language: str | None = None) -> PersonalMessage:
    """Render the announcement exactly as this subscriber would get it (or a placeholder when None)."""
    announcement = _announcement(announcement_id)
    subscriber = None
    if subscriber_id is not None:
        subscriber = db.session.get(Subscriber, subscriber_id)
        if subscriber is None:
            raise AnnouncementMissing(f"subscriber {subscriber_id} does not exist")
    chosen = preview_language(announcement, subscriber, language or "da")
    compiled = CompiledAnnouncement(announcement, chosen)
    recipient = _as_recipient(subscriber, chosen) if subscriber else placeholder_recipient(language=chosen)
    return compiled.personalise(recipient)


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


def check_announcement(announcement_id: int) -> list[Warning]:
    """Run the pre-send check on every language the announcement goes out in."""
    announcement = _announcement(announcement_id)
    warnings: dict[str, Warning] = {}
    for language in ([announcement.language] if announcement.language else ["da", "en"]):
        message = CompiledAnnouncement(announcement, language).personalise(placeholder_recipient(language=language))
        for warning in presend_warnings(message.subject, announcement.preheader or "", message.html, message.text):
            warnings.setdefault(warning.code, warning)
    return list(warnings.values())


def record_presend_warnings(announcement_id: int) -> list[Warning]:
    """Run the check and store its warnings on the announcement (they never block sending)."""
    warnings = check_announcement(announcement_id)
    announcement = _announcement(announcement_id)
    announcement.presend_warnings = warnings_to_json(warnings)
    db.session.commit()
    if warnings:
        log.info("announcement %s has pre-send warnings: %s", announcement_id, ", ".join(w.code for w in warnings))
    return warnings


def send_test(announcement_id: int, addresses: Sequence[str], transport: Transport | None = None,
              language: str | None = None) -> list[str]:
    """Send the announcement to staff-entered addresses with "[TEST] " in front; return the Message-IDs.

    The message is built like the engine builds it (List-Id, List-Unsubscribe, attachments,
    DKIM when configured), personalised for a placeholder recipient named "Test".
    """
    if not addresses:
        raise ValueError("no test addresses")
    if len(addresses) > MAX_TEST_ADDRESSES:
        raise ValueError(f"at most {MAX_TEST_ADDRESSES} test addresses")
    announcement = _announcement(announcement_id)
    chosen = announcement.language or language or "da"
    compiled = CompiledAnnouncement(announcement, chosen)
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
    log.info("test of announcement %s sent to %s address(es)", announcement_id, len(message_ids))
    return message_ids
