"""Beat task of the upcoming-events digest: make this period's digest once; the engine sends it."""
from __future__ import annotations

from celery import shared_task

from mailer.mailings.digests import create_due_digest
from mailer import clock


@shared_task(ignore_result=True)
def start_due_digest() -> int | None:
    """Beat: create and schedule the digest when its period has come; start_due_mailings starts it."""
    return create_due_digest(clock.utcnow())
