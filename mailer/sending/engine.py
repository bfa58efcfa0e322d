"""Send a mailing: claim batches, personalise, send over several connections, mark in groups.

At most `group_size` messages per worker are sent but not yet marked in the ledger. If the
worker dies, those rows come back when their lease runs out and may be sent again: that is
the documented bound on duplicates. Nothing is ever lost, because a row leaves the pool only
when the ledger says what happened to it. Every try of a delivery carries the same Message-ID,
so a receiver can tell a resent copy from a new message.

A relay that cannot be reached backs the whole mailing off (states.relay_unavailable) instead
of charging each row an attempt; a lost database connection is reconnected and the write
repeated, for up to `database_retry_seconds` (docs/SENDING.md).
"""
from __future__ import annotations

import hashlib
import hmac
import logging
import secrets
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError

from mailer.extensions import db
from mailer.models import Mailing, MailingStatus, DeliveryStatus, Subscriber
from mailer import clock
from mailer.mailings import states
from mailer.sending import deliveries
from mailer.sending.audience import still_subscribed
from mailer.sending.deliveries import DeliveryOutcome, Recipient
from mailer.mail.mime import BuiltMessage, MessageBuilder
from mailer.composing.composers import composer_for
from mailer.composing.mailing import PersonalMessage
from mailer.sending.rate_limit import RateLimiter
from mailer.subscribers.bounces import record_hard_bounce
from mailer.mail.transports import (
    PermanentSendError, RelayUnavailableError, TransientSendError, Transport, UncertainDeliveryError,
)

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class EngineSettings:
    batch_size: int = 500          # rows claimed per lease
    group_size: int = 50           # messages sent between ledger marks and control checks
    lease_seconds: float = 300.0   # a dead worker's rows return to the pool after this
    max_attempts: int = 5
    retry_base_seconds: float = 30.0
    failure_ratio: float = 0.2     # pause when more than this share of attempts fail...
    failure_minimum: int = 50      # ...once at least this many rows were tried
    resend_unknown: bool = True    # resend a row once after its first uncertain hand-off
    relay_retry_max_seconds: float = 300.0  # the cap of the back-off while the relay is unreachable
    database_retry_seconds: float = 20.0    # keep reconnecting to the database this long before giving up


@dataclass
class Sender:
    """Everything a run needs to put bytes on the wire."""

    builder: MessageBuilder
    envelope_from: str
    transports: Sequence[Transport]
    limiter: RateLimiter
    sign: Callable[[BuiltMessage], bytes] | None = None  # DkimSigner.sign_built: the signed message's bytes
    message_id_key: bytes = b""  # keys the hash in each delivery's Message-ID
    return_path: Callable[[int], str] | None = None  # delivery id -> VERP envelope sender; None: envelope_from

    def envelope(self, recipient: Recipient) -> str:
        return self.return_path(recipient.delivery_id) if self.return_path else self.envelope_from


def _outcome_for_error(recipient: Recipient, message_id: str, error: Exception,
                       settings: EngineSettings) -> DeliveryOutcome:
    text = str(error)
    tries = recipient.attempts + 1  # this try counts
    if isinstance(error, UncertainDeliveryError):
        # The server may have the message. Resending once, with the same Message-ID, risks a copy
        # that receivers can recognise; not resending risks a reader who never hears of it.
        if settings.resend_unknown and recipient.uncertain == 0 and tries < settings.max_attempts:
            delay = settings.retry_base_seconds * 2 ** (tries - 1)
            return DeliveryOutcome(recipient.delivery_id, DeliveryStatus.PENDING, message_id=message_id,
                                   error="uncertain hand-off, resending once: " + text,
                                   retry_at=clock.utcnow() + timedelta(seconds=delay), uncertain=True)
        return DeliveryOutcome(recipient.delivery_id, DeliveryStatus.UNKNOWN, message_id=message_id, error=text,
                               uncertain=True)
    if isinstance(error, PermanentSendError):
        if getattr(error, "stage", None) == "mail":
            return DeliveryOutcome(recipient.delivery_id, DeliveryStatus.FAILED, error="sender refused: " + text)
        return DeliveryOutcome(recipient.delivery_id, DeliveryStatus.BOUNCED, reply=getattr(error, "reply", None), error=text)
    if isinstance(error, TransientSendError) and tries < settings.max_attempts:
        delay = settings.retry_base_seconds * 2 ** (tries - 1)
        return DeliveryOutcome(recipient.delivery_id, DeliveryStatus.PENDING, error=text, retry_at=clock.utcnow() + timedelta(seconds=delay))
    return DeliveryOutcome(recipient.delivery_id, DeliveryStatus.FAILED, error=text)


def _lost_connection(error: Exception) -> bool:
    """True for a database error that means the connection broke (a restart, a network cut)."""
    return isinstance(error, (OperationalError, InterfaceError)) or (
        isinstance(error, DBAPIError) and error.connection_invalidated)


@dataclass
class _InFlight:
    """A group handed to the SMTP threads and not yet marked in the ledger."""

    group: list[Recipient]
    outcomes: list[DeliveryOutcome]     # the messages that failed before sending
    futures: list[Future]       # one per connection, each giving (outcomes, rows not tried)


class SendingRun:
    """One worker's pass over a mailing until nothing is left to claim."""

    def __init__(self, mailing_id: int, worker: str, sender: Sender, settings: EngineSettings) -> None:
        self.mailing_id = mailing_id
        self.worker = worker
        self.sender = sender
        self.settings = settings
        # The name this run claims rows under: after a claim whose commit was lost, it finds them.
        self.claimant = f"{worker}/{secrets.token_hex(3)}"[-100:]
        self._claim_unsure = False
        self._relay_error: RelayUnavailableError | None = None
        self._compiled: dict[str, Callable[[Recipient], PersonalMessage]] = {}  # by language
        self._pool = ThreadPoolExecutor(max_workers=len(sender.transports), thread_name_prefix="smtp")
        self.sent = 0

    def run(self) -> int:
        """Send until the mailing is done, paused or cancelled; return messages sent."""
        try:
            if not self._db(self._relay_ready):
                return 0  # the relay is still down: the beat wakes a sender again after relay_retry_at
            while self._db(states.status_of, self.mailing_id) == MailingStatus.SENDING:
                batch = self._db(self._claim)
                if not batch:
                    # Out of rows: add the next chunk of the audience, if there is one.
                    state = self._db(states.extend_audience, self.mailing_id)
                    if state is states.AudienceState.COMPLETE:
                        break
                    if state is states.AudienceState.BUSY:
                        time.sleep(0.05)
                    continue
                if not self._send_batch(batch):
                    break
            self._db(states.finish_if_done, self.mailing_id)
        finally:
            self._pool.shutdown(wait=True)
        return self.sent

    def _db(self, action: Callable[..., object], *args: object):
        """Run one database step; if the connection broke, reconnect and run it again (bounded).

        Each step is one transaction that can be repeated: outcomes are written only to rows
        still claimed, and a claim is retried only after handing back what it may have taken.
        """
        deadline = time.monotonic() + self.settings.database_retry_seconds
        pause = 0.2
        while True:
            try:
                return action(*args)
            except Exception as error:  # noqa: BLE001 - only lost connections are retried
                if not _lost_connection(error):
                    raise
                try:
                    db.session.rollback()  # the connection reconnects on its next use
                except Exception:  # noqa: BLE001 - the rollback of a dead connection may fail too
                    pass
                if time.monotonic() + pause > deadline:
                    raise
                log.warning("database connection lost during %s; reconnecting in %.1f s: %s",
                            getattr(action, "__name__", action), pause, error)
                time.sleep(pause)
                pause = min(pause * 2, 2.0)

    def _claim(self) -> list[Recipient]:
        if self._claim_unsure:
            # The last claim may have committed before its connection broke: hand those rows back.
            deliveries.release_held(self.mailing_id, self.claimant)
        self._claim_unsure = True
        batch = deliveries.claim_batch(self.mailing_id, self.claimant, self.settings.batch_size,
                                       self.settings.lease_seconds)
        self._claim_unsure = False
        return batch

    def _relay_ready(self) -> bool:
        """While the relay is marked unreachable, wait for the retry time, then probe it with one connection."""
        row = db.session.execute(
            select(Mailing.relay_down_since, Mailing.relay_retry_at).where(Mailing.id == self.mailing_id)
        ).first()
        db.session.commit()
        if row is None or row.relay_down_since is None:
            return True
        if row.relay_retry_at is not None and clock.utcnow() < row.relay_retry_at:
            return False
        probe = getattr(self.sender.transports[0], "probe", None)
        if probe is not None:
            try:
                probe()
            except RelayUnavailableError as error:
                self._relay_unavailable(error)
                return False
        states.relay_available(self.mailing_id)
        return True

    def _relay_unavailable(self, error: RelayUnavailableError) -> None:
        states.relay_unavailable(self.mailing_id, str(error), self.settings.retry_base_seconds,
                                 self.settings.relay_retry_max_seconds)

    def _personalise_for(self, language: str) -> Callable[[Recipient], PersonalMessage]:
        if language not in self._compiled:
            mailing = db.session.get(Mailing, self.mailing_id)
            composer = composer_for(mailing, language)
            # Composers that can hand over pre-encoded bodies skip encoding them per message.
            self._compiled[language] = getattr(composer, "personalise_encoded", composer.personalise)
        return self._compiled[language]

    def _send_batch(self, batch: list[Recipient]) -> bool:
        allowed = self._db(still_subscribed, self.mailing_id, [r.subscriber_id for r in batch])
        done = [DeliveryOutcome(r.delivery_id, DeliveryStatus.SKIPPED, tried=False)
                for r in batch if r.subscriber_id not in allowed]
        # No row is tried more than max_attempts times (a row resent by hand may have used them all).
        done += [DeliveryOutcome(r.delivery_id, DeliveryStatus.FAILED, tried=False, error="no tries left")
                 for r in batch if r.subscriber_id in allowed and r.attempts >= self.settings.max_attempts]
        self._db(deliveries.record_outcomes, done)
        todo = [r for r in batch if r.subscriber_id in allowed and r.attempts < self.settings.max_attempts]
        size = self.settings.group_size
        groups = [todo[start:start + size] for start in range(0, len(todo), size)]
        renewed_at = time.monotonic()
        in_flight: _InFlight | None = None
        for index, group in enumerate(groups):
            # Build this group while the previous one is still on the wire: the SMTP threads
            # wait on the server most of the time, and building is the worker's CPU work.
            prepared = self._prepare(group)
            if in_flight is not None:
                self._complete(in_flight)
                in_flight = None
            rest = [r.delivery_id for later in groups[index:] for r in later]
            if self._relay_error is not None:
                # The relay is unreachable: hand the rest back untried and back off as a whole.
                self._db(deliveries.release_claims, rest)
                self._db(self._relay_unavailable, self._relay_error)
                return False
            if index and self._db(states.status_of, self.mailing_id) != MailingStatus.SENDING:
                self._db(deliveries.release_claims, rest)
                return False
            if time.monotonic() - renewed_at > self.settings.lease_seconds / 3:
                # A rate limit can make a batch outlast its lease; keep the rest of it ours.
                self._db(deliveries.renew_lease, rest, self.claimant, self.settings.lease_seconds)
                renewed_at = time.monotonic()
            in_flight = self._dispatch(group, prepared)
        if in_flight is not None:
            self._complete(in_flight)
        if self._relay_error is not None:
            self._db(self._relay_unavailable, self._relay_error)
            return False
        return True

    def _message_id(self, recipient: Recipient) -> str:
        """The delivery's Message-ID: the one an earlier try used, else derived from the mailing and row."""
        if recipient.message_id:
            return recipient.message_id
        key = f"{self.mailing_id}.{recipient.delivery_id}"
        digest = hmac.new(self.sender.message_id_key, key.encode(), hashlib.sha256).hexdigest()[:16]
        return self.sender.builder.message_id_for(f"m{self.mailing_id}.d{recipient.delivery_id}.{digest}")

    def _prepare(self, group: list[Recipient]) -> list[tuple[Recipient, str, bytes] | DeliveryOutcome]:
        """Personalise, build and sign each message of a group; a message that cannot be built fails alone."""
        prepared: list[tuple[Recipient, str, bytes] | DeliveryOutcome] = []
        for recipient in group:
            try:
                message = self._personalise_for(recipient.language)(recipient)
                built = self.sender.builder.build(to=recipient.email, subject=message.subject, text=message.text,
                                                  html=message.html, headers=message.headers,
                                                  attachments=message.attachments,
                                                  message_id=self._message_id(recipient))
                data = self.sender.sign(built) if self.sender.sign else built.data
                prepared.append((recipient, built.message_id, data))
            except ValueError as error:  # e.g. an address no relay can take: fail the row, not the batch
                prepared.append(DeliveryOutcome(recipient.delivery_id, DeliveryStatus.FAILED, error=str(error),
                                                tried=False))
        return prepared

    def _dispatch(self, group: list[Recipient], prepared: list[tuple[Recipient, str, bytes] | DeliveryOutcome]) -> _InFlight:
        """Start sending a prepared group over the connections; return without waiting."""
        to_send = [p for p in prepared if not isinstance(p, DeliveryOutcome)]
        self.sender.limiter.acquire(len(to_send))
        lanes = len(self.sender.transports)
        futures = [self._pool.submit(self._send_lane, lane, to_send[lane::lanes]) for lane in range(lanes)]
        return _InFlight(group, [p for p in prepared if isinstance(p, DeliveryOutcome)], futures)

    def _complete(self, in_flight: _InFlight) -> None:
        """Wait for a dispatched group and write its outcomes to the ledger."""
        outcomes = list(in_flight.outcomes)
        untried: list[int] = []
        for future in in_flight.futures:
            lane_outcomes, lane_untried = future.result()
            outcomes.extend(lane_outcomes)
            untried.extend(lane_untried)
        # The outcomes are in memory: a broken database connection costs a reconnect, not a resend.
        self._db(deliveries.record_outcomes, outcomes)
        self._db(deliveries.release_claims, untried)
        self._db(self._after_group, in_flight.group, outcomes)

    def _send_lane(self, lane: int, items: list[tuple[Recipient, str, bytes]]) -> tuple[list[DeliveryOutcome], list[int]]:
        """Send one connection's share; stop at the first sign the relay is unreachable and return the rest untried."""
        transport = self.sender.transports[lane]
        outcomes = []
        for index, (recipient, message_id, data) in enumerate(items):
            try:
                reply = transport.send(self.sender.envelope(recipient), recipient.email, data, wire_ready=True)
                outcomes.append(DeliveryOutcome(recipient.delivery_id, DeliveryStatus.SENT, message_id=message_id, reply=reply))
            except RelayUnavailableError as error:
                self._relay_error = error
                return outcomes, [r.delivery_id for r, _, _ in items[index:]]
            except (TransientSendError, PermanentSendError, UncertainDeliveryError) as error:
                outcomes.append(_outcome_for_error(recipient, message_id, error, self.settings))
        return outcomes, []

    def _after_group(self, group: list[Recipient], outcomes: list[DeliveryOutcome]) -> None:
        self.sent += sum(1 for o in outcomes if o.status == DeliveryStatus.SENT)
        bounced = {o.delivery_id for o in outcomes if o.status == DeliveryStatus.BOUNCED}
        if bounced:
            for recipient in group:
                if recipient.delivery_id in bounced:
                    record_hard_bounce(db.session.get(Subscriber, recipient.subscriber_id), "SMTP 5xx while sending")
            db.session.commit()
        if any(o.tried and o.status in (DeliveryStatus.FAILED, DeliveryStatus.BOUNCED, DeliveryStatus.UNKNOWN)
               for o in outcomes):
            self._pause_if_failing()

    def _pause_if_failing(self) -> None:
        counts = deliveries.status_counts(self.mailing_id)
        failures = counts["failed"] + counts["bounced"] + counts["unknown"]
        tried = failures + counts["sent"]
        if tried >= self.settings.failure_minimum and failures > self.settings.failure_ratio * tried:
            reason = f"{failures} of {tried} messages failed; paused automatically"
            try:
                states.pause(self.mailing_id, reason, automatic=True)
            except states.InvalidTransition:
                pass  # another worker paused it first
