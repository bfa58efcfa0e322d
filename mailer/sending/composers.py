"""Pick how an mailing's messages are composed: one compiled body for all, or one per recipient."""
from __future__ import annotations

from typing import Protocol

from mailer.models import Mailing, MailingKind
from mailer.sending.ledger import Recipient
from mailer.sending.personalize import CompiledMailing, PersonalMessage


class Composer(Protocol):
    def personalise(self, recipient: Recipient) -> PersonalMessage: ...


def composer_for(mailing: Mailing, language: str) -> Composer:
    """Compile the mailing once for this language, the way its kind needs."""
    if mailing.kind == MailingKind.DIGEST:
        # Imported here: the digest composer is only needed by digest runs.
        from mailer.sending.digest import CompiledDigest

        return CompiledDigest(mailing, language)
    return CompiledMailing(mailing, language)
