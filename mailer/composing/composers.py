"""Pick how a mailing's messages are composed: one compiled body for all, or one per recipient."""
from __future__ import annotations

from typing import Protocol

from flask import current_app

from mailer.composing.digest import CompiledDigest
from mailer.composing.mailing import CompiledMailing, PersonalMessage
from mailer.models import Mailing, MailingKind
from mailer.sending.deliveries import Recipient


class Composer(Protocol):
    def personalise(self, recipient: Recipient) -> PersonalMessage: ...


def composer_for(mailing: Mailing, language: str) -> Composer:
    """Compile the mailing once for this language, the way its kind needs."""
    if mailing.kind == MailingKind.DIGEST:
        return CompiledDigest(mailing, language)
    return CompiledMailing(mailing, language, count_clicks=current_app.config["LINK_COUNTING"])
