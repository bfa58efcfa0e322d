"""Texts in both languages, as the API shows them ({"da": …, "en": …}), over today's one-language models.

The API already speaks the bilingual contract (an event's title, a mailing's subject, each in Danish
and English). Until the models carry both (subject_da/subject_en, title_da/title_en …), a mailing or
an event keeps one text and a `language`; this module is the one place that maps between the two,
and the one to rewrite when the bilingual models land.
"""
from __future__ import annotations

from mailer.languages import LANGUAGES


def shown(value: str | None, language: str | None) -> dict[str, str]:
    """One stored text as {"da": …, "en": …}: in its language, or in both when it is for everyone."""
    return {code: (value or "") if language in (None, code) else "" for code in LANGUAGES}


def stored(texts: dict[str, str] | None, language: str | None) -> str:
    """The one text to store: the given language's, else the other's."""
    texts = texts or {}
    order = [language, *LANGUAGES] if language else list(LANGUAGES)
    return next((texts[code] for code in order if texts.get(code)), "")


def language_of(texts: dict[str, str]) -> str:
    """The language a one-language event is written in: Danish when it has a Danish title."""
    return next((code for code in LANGUAGES if texts.get(code)), LANGUAGES[0])
