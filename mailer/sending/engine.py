"""Send a mailing: claim batches, personalise, send over several connections, mark in groups.

At most `group_size` messages per worker are sent but not yet marked in the ledger. If the
worker dies, those rows come back when their lease runs out and may be sent again: that is
the documented bound on duplicates. Nothing is ever lost, because a row leaves the pool only
when the ledger says what happened to it.
"""
from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from datetime import timedelta

from mailer.extensions import db
from mailer.models import Mailing, MailingStatus, DeliveryStatus, Subscriber
from mailer import clock
from mailer.mailings import states
from mailer.sending import deliveries
from mailer.sending.audience import still_subscribed
from mailer.sending.deliveries import DeliveryOutcome, Recipient
from mailer.mail.mime import MessageBuilder
from mailer.composing.composers import composer_for
from mailer.composing.mailing import PersonalMessage
from mailer.sending.rate_limit import RateLimiter
from mailer.subscribers.bounces import record_hard_bounce
from mailer.mail.transports import PermanentSendError, TransientSendError, Transport, UncertainDeliveryError

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


@dataclass
class Sender:
    """Everything a run needs to put bytes on the wire."""

    builder: MessageBuilder
    envelope_from: str
    transports: Sequence[Transport]
    limiter: RateLimiter
    sign: Callable[[bytes], bytes] | None = None
    return_path: Callable[[int], str] | None = None  # delivery id -> VERP envelope sender; None: envelope_from

    def envelope(self, recipient: Recipient) -> str:
        return self.return_path(recipient.delivery_id) if self.return_path else self.envelope_from


def _outcome_for_error(recipient: Recipient, error: Exception, settings: EngineSettings) -> DeliveryOutcome:
    text = str(error)
    if isinstance(error, UncertainDeliveryError):
        # The server may have the message: resending blindly could mail this person twice.
        return DeliveryOutcome(recipient.delivery_id, DeliveryStatus.UNKNOWN, error=text)
    if isinstance(error, PermanentSendError):
        if getattr(error, "stage", None) == "mail":
            return DeliveryOutcome(recipient.delivery_id, DeliveryStatus.FAILED, error="sender refused: " + text)
        return DeliveryOutcome(recipient.delivery_id, DeliveryStatus.BOUNCED, reply=getattr(error, "reply", None), error=text)
    if isinstance(error, TransientSendError) and recipient.attempts < settings.max_attempts:
        delay = settings.retry_base_seconds * 2 ** (recipient.attempts - 1)
        return DeliveryOutcome(recipient.delivery_id, DeliveryStatus.PENDING, error=text, retry_at=clock.utcnow() + timedelta(seconds=delay))
    return DeliveryOutcome(recipient.delivery_id, DeliveryStatus.FAILED, error=text)


@dataclass
class _InFlight:
    """A group handed to the SMTP threads and not yet marked in the ledger."""

    group: list[Recipient]
    outcomes: list[DeliveryOutcome]     # the messages that failed before sending
    futures: list[Future]       # one per connection, each giving a list of outcomes


class SendingRun:
    """One worker's pass over a mailing until nothing is left to claim."""

    def __init__(self, mailing_id: int, worker: str, sender: Sender, settings: EngineSettings) -> None:
        self.mailing_id = mailing_id
        self.worker = worker
        self.sender = sender
        self.settings = settings
        self._compiled: dict[str, Callable[[Recipient], PersonalMessage]] = {}  # by language
        self._pool = ThreadPoolExecutor(max_workers=len(sender.transports), thread_name_prefix="smtp")
        self.sent = 0

    def run(self) -> int:
        """Send until the mailing is done, paused or cancelled; return messages sent."""
        try:
            while states.status_of(self.mailing_id) == MailingStatus.SENDING:
                batch = deliveries.claim_batch(self.mailing_id, self.worker, self.settings.batch_size,
                                           self.settings.lease_seconds)
                if not batch:
                    # Out of rows: add the next chunk of the audience, if there is one.
                    state = states.extend_audience(self.mailing_id)
                    if state is states.AudienceState.COMPLETE:
                        break
                    if state is states.AudienceState.BUSY:
                        time.sleep(0.05)
                    continue
                if not self._send_batch(batch):
                    break
            states.finish_if_done(self.mailing_id)
        finally:
            self._pool.shutdown(wait=True)
        return self.sent

    def _personalise_for(self, language: str) -> Callable[[Recipient], PersonalMessage]:
        if language not in self._compiled:
            mailing = db.session.get(Mailing, self.mailing_id)
            composer = composer_for(mailing, language)
            # Composers that can hand over pre-encoded bodies skip encoding them per message.
            self._compiled[language] = getattr(composer, "personalise_encoded", composer.personalise)
        return self._compiled[language]

    def _send_batch(self, batch: list[Recipient]) -> bool:
        allowed = still_subscribed(self.mailing_id, [r.subscriber_id for r in batch])
        skipped = [DeliveryOutcome(r.delivery_id, DeliveryStatus.SKIPPED) for r in batch if r.subscriber_id not in allowed]
        deliveries.record_outcomes(skipped)
        todo = [r for r in batch if r.subscriber_id in allowed]
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
            if index and states.status_of(self.mailing_id) != MailingStatus.SENDING:
                deliveries.release_claims([r.delivery_id for rest in groups[index:] for r in rest])
                return False
            if time.monotonic() - renewed_at > self.settings.lease_seconds / 3:
                # A rate limit can make a batch outlast its lease; keep the rest of it ours.
                rest = [r.delivery_id for later in groups[index:] for r in later]
                deliveries.renew_lease(rest, self.worker, self.settings.lease_seconds)
                renewed_at = time.monotonic()
            in_flight = self._dispatch(group, prepared)
        if in_flight is not None:
            self._complete(in_flight)
        return True

    def _prepare(self, group: list[Recipient]) -> list[tuple[Recipient, str, bytes] | DeliveryOutcome]:
        """Personalise, build and sign each message of a group; a message that cannot be built fails alone."""
        prepared: list[tuple[Recipient, str, bytes] | DeliveryOutcome] = []
        for recipient in group:
            try:
                message = self._personalise_for(recipient.language)(recipient)
                built = self.sender.builder.build(to=recipient.email, subject=message.subject, text=message.text,
                                                  html=message.html, headers=message.headers,
                                                  attachments=message.attachments)
                data = self.sender.sign(built.data) if self.sender.sign else built.data
                prepared.append((recipient, built.message_id, data))
            except ValueError as error:  # e.g. an address no relay can take: fail the row, not the batch
                prepared.append(DeliveryOutcome(recipient.delivery_id, DeliveryStatus.FAILED, error=str(error)))
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
        for future in in_flight.futures:
            outcomes.extend(future.result())
        deliveries.record_outcomes(outcomes)
        self._after_group(in_flight.group, outcomes)

    def _send_lane(self, lane: int, items: list[tuple[Recipient, str, bytes]]) -> list[DeliveryOutcome]:
        transport = self.sender.transports[lane]
        outcomes = []
        for recipient, message_id, data in items:
            try:
                reply = transport.send(self.sender.envelope(recipient), recipient.email, data, wire_ready=True)
                outcomes.append(DeliveryOutcome(recipient.delivery_id, DeliveryStatus.SENT, message_id=message_id, reply=reply))
            except (TransientSendError, PermanentSendError, UncertainDeliveryError) as error:
                outcomes.append(_outcome_for_error(recipient, error, self.settings))
        return outcomes

    def _after_group(self, group: list[Recipient], outcomes: list[DeliveryOutcome]) -> None:
        self.sent += sum(1 for o in outcomes if o.status == DeliveryStatus.SENT)
        bounced = {o.delivery_id for o in outcomes if o.status == DeliveryStatus.BOUNCED}
        if bounced:
            for recipient in group:
                if recipient.delivery_id in bounced:
                    record_hard_bounce(db.session.get(Subscriber, recipient.subscriber_id), "SMTP 5xx while sending")
            db.session.commit()
        if any(o.status in (DeliveryStatus.FAILED, DeliveryStatus.BOUNCED, DeliveryStatus.UNKNOWN) for o in outcomes):
            self._pause_if_failing()

    def _pause_if_failing(self) -> None:
        counts = deliveries.status_counts(self.mailing_id)
        failures = counts["failed"] + counts["bounced"] + counts["unknown"]
        tried = failures + counts["sent"]
        if tried >= self.settings.failure_minimum and failures > self.settings.failure_ratio * tried:
            reason = f"{failures} of {tried} messages failed; paused automatically"
            try:
                states.pause(self.mailing_id, reason)
            except states.InvalidTransition:
                pass  # another worker paused it first
