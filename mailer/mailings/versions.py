"""A mailing's Danish and English versions: their fields, and who gets the other language's text.

A mailing is written in both languages; each subscriber gets the version in their own
language, and a version left empty falls back to the other (Mailing.subject_for and friends,
one rule in mailer.languages.in_language). This module holds what the rest needs to know
about the versions as a pair: the field names, how to copy a pair of texts onto a mailing,
and how many readers of the audience will get the other language's text.
"""
from __future__ import annotations

from dataclasses import dataclass

from flask_babel import ngettext
from sqlalchemy import func, select

from mailer.extensions import db
from mailer.languages import LANGUAGES, other_language
from mailer.models import Mailing, Subscriber

# The texts every mailing has once per language: <field>_da and <field>_en.
VERSION_FIELDS = ("subject", "preheader", "body_markdown")


def version_columns() -> tuple[str, ...]:
    """subject_da, subject_en, preheader_da, … : every per-language column of a mailing."""
    return tuple(f"{name}_{language}" for name in VERSION_FIELDS for language in LANGUAGES)


@dataclass(frozen=True)
class Fallback:
    """`count` readers of `language` will get the `shown` version, because theirs is empty."""

    language: str
    shown: str
    count: int

    def message(self) -> str:
        if self.language == "en":
            return ngettext("%(num)d English reader will get the Danish text: the English version is empty.",
                            "%(num)d English readers will get the Danish text: the English version is empty.",
                            self.count)
        return ngettext("%(num)d Danish reader will get the English text: the Danish version is empty.",
                        "%(num)d Danish readers will get the English text: the Danish version is empty.",
                        self.count)


def missing_versions(mailing: Mailing) -> list[str]:
    """The languages whose version staff left empty (their readers get the other one)."""
    return [language for language in LANGUAGES if not mailing.has_version(language)]


def audience_by_language(mailing: Mailing) -> dict[str, int]:
    """How many of the mailing's audience, as it is now, read each language."""
    from mailer.sending.audience import eligible_subscribers  # the sending layer builds on this one

    ids = eligible_subscribers(mailing).subquery()
    rows = db.session.execute(
        select(Subscriber.language, func.count()).where(Subscriber.id.in_(select(ids.c.id)))
        .group_by(Subscriber.language)
    )
    return {language: count for language, count in rows}


def fallbacks(mailing: Mailing) -> list[Fallback]:
    """For each empty version, how many readers of the real audience will get the other language's text."""
    missing = missing_versions(mailing)
    if not missing or len(missing) == len(LANGUAGES):
        return []
    counts = audience_by_language(mailing)
    return [Fallback(language, other_language(language), counts[language])
            for language in missing if counts.get(language)]
