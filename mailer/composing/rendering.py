"""Render mail template pairs, inline their CSS, and fill the personal values into pre-rendered text.

A composer renders its templates once per batch and language with a marker where each
personal value goes (`marker("greeting")`), then fills the markers per recipient: Jinja and
CSS inlining per recipient would cost more than building and sending the message
(docs/PERFORMANCE.md).

Markers never come from staff input: each compile draws a random nonce that every marker
it places carries (`new_nonce()`), RenderedParts fills only markers with that nonce, and any
other marker character left in the text is dropped. Staff fields strip the characters too.
"""
from __future__ import annotations

import re
import secrets
from collections.abc import Sequence
from typing import Any

import css_inline
from flask import render_template
from flask_babel import force_locale

from mailer.mail.mime import EncodedText, QuotedPrintableTemplate

_START, _END = "\ue000", "\ue001"  # private-use characters: they never occur in rendered mail
_MARK = _START + "{}" + _END
_MARK_CHARACTERS = str.maketrans("", "", _START + _END)
_inliner = css_inline.CSSInliner(keep_style_tags=True)


def inline_css(html: str) -> str:
    """Move the <style> rules onto the elements, for mail apps that ignore style sheets."""
    return _inliner.inline(html)


def render_pair(name: str, language: str, **context: Any) -> tuple[str, str]:
    """Render templates/email/<name>.html (CSS inlined) and <name>.txt in one language."""
    with force_locale(language):
        context = {"language": language, **context}
        html = render_template(f"email/{name}.html", **context)
        text = render_template(f"email/{name}.txt", **context)
    return inline_css(html), text


def strip_markers(text: str) -> str:
    """Drop the marker characters from text that came from staff (or anywhere but the composer)."""
    return text.translate(_MARK_CHARACTERS)


def new_nonce() -> str:
    """A fresh secret for one compile's markers: text from staff cannot guess it."""
    return secrets.token_hex(12)


def marker(field: str, nonce: str = "") -> str:
    """The placeholder a template renders where `field` goes (with the compile's nonce)."""
    return _MARK.format(f"{nonce}:{field}" if nonce else field)


class RenderedParts:
    """Rendered text split at its markers into static pieces and field names, alternating.

    Only markers with this compile's nonce are filled; other marker characters are dropped.
    """

    def __init__(self, rendered: str, fields: Sequence[str], nonce: str = "") -> None:
        prefix = re.escape(f"{nonce}:") if nonce else ""
        split = re.compile(_START + prefix + "(" + "|".join(re.escape(field) for field in fields) + ")" + _END)
        pieces = split.split(rendered)
        pieces[0::2] = [strip_markers(piece) for piece in pieces[0::2]]
        self.pieces = pieces
        self._encoded: QuotedPrintableTemplate | None = None

    def fill(self, values: dict[str, str]) -> str:
        pieces = self.pieces
        return "".join(piece if i % 2 == 0 else values[piece] for i, piece in enumerate(pieces))

    def fill_encoded(self, values: dict[str, str]) -> EncodedText:
        """Like fill, but straight to quoted-printable, the static pieces encoded only once."""
        if self._encoded is None:
            self._encoded = QuotedPrintableTemplate(self.pieces)
        return self._encoded.fill(values)
