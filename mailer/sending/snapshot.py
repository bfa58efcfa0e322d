"""Take a mailing's audience into the delivery ledger, the way its kind needs."""
from __future__ import annotations

from mailer.extensions import db
from mailer.models import Mailing, MailingKind
from mailer.sending.audience import SnapshotChunk, snapshot_list_audience
from mailer.sending.digest_audience import snapshot_digest_audience


def snapshot_audience(mailing_id: int, after_subscriber_id: int = 0, limit: int | None = None) -> SnapshotChunk:
    """Insert the next chunk of pending delivery rows; a digest also chooses each reader's events.

    See snapshot_list_audience for `after_subscriber_id` and `limit`.
    """
    mailing = db.session.get(Mailing, mailing_id)
    if mailing.kind == MailingKind.DIGEST:
        return snapshot_digest_audience(mailing, after_subscriber_id, limit)
    return snapshot_list_audience(mailing_id, after_subscriber_id, limit)
