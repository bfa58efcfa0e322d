"""Preview a mailing as a chosen subscriber, send tests, and record the pre-send check.

Everything here renders through CompiledMailing and builds messages the way the
sending engine does, so what staff see and test is what subscribers get.
"""
from __future__ import annotations

import logging
from collections.abc import Sequence

from sqlalchemy import func, select

from mailer.languages import LANGUAGES
from mailer.mailings.presend import Warning, presend_warnings, warnings_to_json
from mailer import outgoing
from mailer.extensions import db
from mailer.mail.transports import Transport
from mailer.models import Mailing, Subscriber, SubscriberStatus
from mailer.sending.deliveries import Recipient
from mailer.composing.mailing import CompiledMailing, PersonalMessage, placeholder_recipient
from mailer.subscribers.lifecycle import find_subscriber

log = logging.getLogger(__name__)

TEST_PREFIX = "[TEST] "
MAX_TEST_ADDRESSES = 10


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
    """The language the subscriber would get the mailing in."""
    if mailing.language:
        return mailing.language
    return subscriber.language if subscriber is not None else fallback


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


def check_mailing(mailing_id: int) -> list[Warning]:
    """Run the pre-send check on every language the mailing goes out in."""
    mailing = _mailing(mailing_id)
    warnings: dict[str, Warning] = {}
    for language in ([mailing.language] if mailing.language else LANGUAGES):
        message = CompiledMailing(mailing, language).personalise(placeholder_recipient(language=language))
        for warning in presend_warnings(message.subject, mailing.preheader or "", message.html, message.text):
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


def send_test(mailing_id: int, addresses: Sequence[str], transport: Transport | None = None,
              language: str | None = None) -> list[str]:
    """Send the mailing to staff-entered addresses with "[TEST] " in front; return the Message-IDs.

    The message is built like the engine builds it (List-Id, List-Unsubscribe, attachments,
    DKIM when configured), personalised for a placeholder recipient named "Test".
    """
    if not addresses:
        raise ValueError("no test addresses")
    if len(addresses) > MAX_TEST_ADDRESSES:
        raise ValueError(f"at most {MAX_TEST_ADDRESSES} test addresses")
    mailing = _mailing(mailing_id)
    chosen = mailing.language or language or "da"
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
