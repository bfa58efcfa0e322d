"""Texts in both languages, as the API shows and takes them: {"da": …, "en": …} for a model's `<name>_da`/`_en`.

An empty version falls back to the other language when a mail or page is made (the models' *_for
accessors); the API shows each version as stored, so a client sees what is missing.
"""
from __future__ import annotations

from mailer.languages import LANGUAGES


def shown(model: object, name: str) -> dict[str, str]:
    """A model's two versions of a text, e.g. shown(event, "title") -> {"da": title_da, "en": title_en}."""
    return {code: getattr(model, f"{name}_{code}") or "" for code in LANGUAGES}


def stored(texts: dict[str, str] | None, name: str, *, blank_is_none: bool = False) -> dict[str, str | None]:
    """The keyword arguments for a model or form data: {"title_da": …, "title_en": …}."""
    texts = texts or {}
    return {f"{name}_{code}": (texts.get(code) or (None if blank_is_none else "")) for code in LANGUAGES}
