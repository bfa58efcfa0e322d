"""The languages mailer speaks, stated once: Danish first (the default), then English."""
from __future__ import annotations

LANGUAGES = ("da", "en")
DEFAULT_LANGUAGE = "da"
# Each language's name in itself, as a reader looks for it in a list.
LANGUAGE_NAMES = {"da": "Dansk", "en": "English"}


def other_language(language: str) -> str:
    """The other of the two languages."""
    return "en" if language == "da" else "da"


def in_language(da: str | None, en: str | None, language: str) -> str:
    """A text's version in `language`, or the other language's when that one was left empty.

    The one fallback rule for bilingual content (mailings, events, topics): a reader never gets
    an empty subject or title because only the other version was written.
    """
    wanted, other = (da, en) if language != "en" else (en, da)
    if wanted and wanted.strip():
        return wanted
    return other or ""


def shown_language(da: str | None, en: str | None, language: str) -> str:
    """The language of the version in_language picks: for a lang attribute on fallback text."""
    wanted, other = (en, da) if language == "en" else (da, en)
    if (wanted and wanted.strip()) or not other:
        return language
    return other_language(language)
