"""What every composer shares: rendered text with markers, and a recipient's signed links.

A composer renders its templates once per batch and language with a marker where each
personal value goes (`marker("greeting")`), then fills the markers per recipient.
"""
from __future__ import annotations

import re
from collections.abc import Sequence

from mailer.emails import public_url, unsubscribe_mailto_prefix
from mailer.sending.ledger import Recipient
from mailer.mail.mime import EncodedText, QuotedPrintableTemplate
from mailer.tokens import TokenPurpose, TokenSigner

_MARK = "\ue000{}\ue001"  # private-use characters: they never occur in rendered mail


def marker(field: str) -> str:
    """The placeholder a template renders where `field` goes."""
    return _MARK.format(field)


class RenderedParts:
    """Rendered text split at its markers into static pieces and field names, alternating."""

    def __init__(self, rendered: str, fields: Sequence[str]) -> None:
        split = re.compile("\ue000(" + "|".join(re.escape(field) for field in fields) + ")\ue001")
        self.pieces = split.split(rendered)
        self._encoded: QuotedPrintableTemplate | None = None

    def fill(self, values: dict[str, str]) -> str:
        pieces = self.pieces
        return "".join(piece if i % 2 == 0 else values[piece] for i, piece in enumerate(pieces))

    def fill_encoded(self, values: dict[str, str]) -> EncodedText:
        """Like fill, but straight to quoted-printable, the static pieces encoded only once."""
        if self._encoded is None:
            self._encoded = QuotedPrintableTemplate(self.pieces)
        return self._encoded.fill(values)


class PersonalLinks:
    """Sign each recipient's unsubscribe and manage links, and the List-Unsubscribe headers (RFC 8058)."""

    def __init__(self, topic_ids: tuple[int, ...]) -> None:
        self.topic_ids = topic_ids
        self._unsubscribe = TokenSigner(TokenPurpose.UNSUBSCRIBE)
        self._manage = TokenSigner(TokenPurpose.MANAGE)
        self._one_click_base = public_url("public.one_click", token="TOKEN").rsplit("TOKEN", 1)[0]
        self._unsubscribe_base = public_url("public.unsubscribe", token="TOKEN").rsplit("TOKEN", 1)[0]
        self._manage_base = public_url("public.manage", token="TOKEN").rsplit("TOKEN", 1)[0]
        self._mailto_base = unsubscribe_mailto_prefix()

    def for_recipient(self, recipient: Recipient) -> tuple[dict[str, str], dict[str, str]]:
        """Return ({"unsubscribe_url", "manage_url"}, headers) for one recipient."""
        unsubscribe_token = self._unsubscribe.sign(recipient.public_id, recipient.token_secret, self.topic_ids)
        manage_token = self._manage.sign(recipient.public_id, recipient.token_secret)
        urls = {"unsubscribe_url": self._unsubscribe_base + unsubscribe_token,
                "manage_url": self._manage_base + manage_token}
        headers = {
            "List-Unsubscribe": f"<{self._one_click_base}{unsubscribe_token}>, <{self._mailto_base}{unsubscribe_token}>",
            "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
        }
        return urls, headers
