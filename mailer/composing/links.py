"""Links in mails: public URLs on MAILER_BASE_URL, signed personal links and List-Unsubscribe (RFC 8058)."""
from __future__ import annotations

from flask import current_app

from mailer.sending.deliveries import Recipient
from mailer.tokens import PREVIEW_PURPOSE, TokenPurpose, TokenSigner
from mailer.urls import public_url


def unsubscribe_mailto_prefix() -> str:
    """The mailto: form of List-Unsubscribe up to the token (worked out once per batch)."""
    sender_domain = current_app.config["MAIL_FROM"].rsplit("@", 1)[-1].rstrip(">").strip()
    return f"mailto:unsubscribe@{sender_domain}?subject=unsubscribe%20"


def list_unsubscribe_headers(one_click_url: str, mailto: str) -> dict[str, str]:
    """The RFC 8058 pair: an https one-click URL and a mailto, and the one-click POST marker."""
    return {"List-Unsubscribe": f"<{one_click_url}>, <{mailto}>",
            "List-Unsubscribe-Post": "List-Unsubscribe=One-Click"}


def _base(endpoint: str) -> str:
    return public_url(endpoint, token="TOKEN").rsplit("TOKEN", 1)[0]


class PersonalLinks:
    """Sign each recipient's unsubscribe and manage links, and the List-Unsubscribe headers.

    With `inert=True` (staff previews) the links look the same but are signed for a purpose no
    public endpoint accepts: whoever sees a preview cannot act for the subscriber it shows.
    """

    def __init__(self, topic_ids: tuple[int, ...], *, inert: bool = False, mailing_id: int | None = None) -> None:
        self.topic_ids = topic_ids
        # Unsubscribe links name the mailing they came in, so its results page can count who left.
        self.mailing_id = None if inert else mailing_id
        self._unsubscribe = TokenSigner(PREVIEW_PURPOSE if inert else TokenPurpose.UNSUBSCRIBE)
        self._manage = TokenSigner(PREVIEW_PURPOSE if inert else TokenPurpose.MANAGE)
        self._one_click_base = _base("public.one_click")
        self._unsubscribe_base = _base("public.unsubscribe")
        self._manage_base = _base("public.manage")
        self._mailto_base = unsubscribe_mailto_prefix()

    def for_recipient(self, recipient: Recipient) -> tuple[dict[str, str], dict[str, str]]:
        """Return ({"unsubscribe_url", "manage_url"}, headers) for one recipient."""
        unsubscribe_token = self._unsubscribe.sign(recipient.public_id, recipient.token_secret, self.topic_ids,
                                                   self.mailing_id)
        manage_token = self._manage.sign(recipient.public_id, recipient.token_secret)
        urls = {"unsubscribe_url": self._unsubscribe_base + unsubscribe_token,
                "manage_url": self._manage_base + manage_token}
        headers = list_unsubscribe_headers(self._one_click_base + unsubscribe_token,
                                           self._mailto_base + unsubscribe_token)
        return urls, headers
