"""Beat task of the upcoming-events digest: make this period's digest once; the engine sends it."""
from __future__ import annotations

import logging

from celery import shared_task

from mailer.mailings.digests import create_due_digest
from mailer import clock

log = logging.getLogger(__name__)


@shared_task(ignore_result=True)
def start_due_digest() -> int | None:
    """Beat: create and schedule the digest when its period has come; start_due_mailings starts it."""
    try:
        return create_due_digest(clock.utcnow())
    except ValueError as error:  # MAILER_DIGEST_* misconfigured: say so on every beat, never crash the beat
        log.error("no digest: %s", error)
        return None
