"""Pick how an announcement's messages are composed: one compiled body for all, or one per recipient."""
from __future__ import annotations

from typing import Protocol

from mailer.models import Announcement, AnnouncementKind
from mailer.sending.ledger import Recipient
from mailer.sending.personalize import CompiledAnnouncement, PersonalMessage


class Composer(Protocol):
    def personalise(self, recipient: Recipient) -> PersonalMessage: ...


def composer_for(announcement: Announcement, language: str) -> Composer:
    """Compile the announcement once for this language, the way its kind needs."""
    if announcement.kind == AnnouncementKind.DIGEST:
        # Imported here: the digest composer is only needed by digest runs.
        from mailer.sending.digest import CompiledDigest

        return CompiledDigest(announcement, language)
    return CompiledAnnouncement(announcement, language)
