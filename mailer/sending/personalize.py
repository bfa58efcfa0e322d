"""Compile an announcement once per batch and language; personalise each recipient cheaply.

The templates are rendered once with markers in place of the per-recipient values (name,
greeting, links), CSS is inlined once, and each recipient then costs a few string joins.
Rendering Jinja and inlining CSS per recipient would cost more than building and sending
the message (see docs/PERFORMANCE.md).
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from html import escape

import nh3
from flask_babel import force_locale, gettext
from markdown_it import MarkdownIt

from mailer.emails import public_url, render_email, unsubscribe_mailto
from mailer.models import Announcement
from mailer.sending.mime import Attachment
from mailer.sending.ledger import Recipient
from mailer.tokens import TokenPurpose, TokenSigner

FIELDS = ("greeting", "name", "unsubscribe_url", "manage_url")
_MARK = "\ue000{}\ue001"
_SPLIT = re.compile("\ue000(" + "|".join(FIELDS) + ")\ue001")
_markdown = MarkdownIt("commonmark", {"linkify": False}).enable("table")


def markdown_to_safe_html(source: str) -> str:
    """Render staff Markdown and keep only safe HTML."""
    return nh3.clean(_markdown.render(source), link_rel="noopener")


@dataclass(frozen=True)
class PersonalMessage:
    subject: str
    html: str
    text: str
    headers: dict[str, str]
    attachments: tuple[Attachment, ...] = ()


class _Parts:
    """Rendered text split into static pieces and field names, alternating."""

    def __init__(self, rendered: str) -> None:
        self.pieces = _SPLIT.split(rendered)

    def fill(self, values: dict[str, str]) -> str:
        pieces = self.pieces
        return "".join(piece if i % 2 == 0 else values[piece] for i, piece in enumerate(pieces))


class CompiledAnnouncement:
    """One announcement in one language, ready to personalise for many recipients."""

    def __init__(self, announcement: Announcement, language: str) -> None:
        self.topic_ids = tuple(sorted(t.id for t in announcement.topics))
        marks = {field: _MARK.format(field) for field in FIELDS}
        with force_locale(language):
            self._hello_name = gettext("Hello %(name)s,")
            self._hello = gettext("Hello,")
            email = render_email(
                "announcement", language, announcement.subject,
                preheader=announcement.preheader, body_html=markdown_to_safe_html(announcement.body_markdown),
                body_text=announcement.body_markdown, **marks,
            )
        self.subject = email.subject
        self._html = _Parts(email.html)
        self._text = _Parts(email.text)
        self._unsubscribe = TokenSigner(TokenPurpose.UNSUBSCRIBE)
        self._manage = TokenSigner(TokenPurpose.MANAGE)
        self._one_click_base = public_url("public.one_click", token="TOKEN").rsplit("TOKEN", 1)[0]
        self._unsubscribe_base = public_url("public.unsubscribe", token="TOKEN").rsplit("TOKEN", 1)[0]
        self._manage_base = public_url("public.manage", token="TOKEN").rsplit("TOKEN", 1)[0]

    def personalise(self, recipient: Recipient) -> PersonalMessage:
        """Fill in one recipient's name and links."""
        unsubscribe_token = self._unsubscribe.sign(recipient.public_id, recipient.token_secret, self.topic_ids)
        manage_token = self._manage.sign(recipient.public_id, recipient.token_secret)
        name = recipient.name or ""
        greeting = self._hello_name % {"name": name} if name else self._hello
        text_values = {
            "greeting": greeting,
            "name": name,
            "unsubscribe_url": self._unsubscribe_base + unsubscribe_token,
            "manage_url": self._manage_base + manage_token,
        }
        html_values = {key: escape(value) for key, value in text_values.items()}
        headers = {
            "List-Unsubscribe": f"<{self._one_click_base}{unsubscribe_token}>, <{unsubscribe_mailto(unsubscribe_token)}>",
            "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
        }
        return PersonalMessage(self.subject, self._html.fill(html_values), self._text.fill(text_values), headers)
