"""The prefilled subject, preheader and text of event mails, in Danish and in English.

Staff edit these in the normal mailing form; they only save retyping what the event
already says. The event card (time, place, signup and calendar links) is added to every
event mail by the renderer, so the texts do not repeat it.

A version is filled in for each language the event is written in (its title or description
in that language): a reader of a language the event was not written in gets the other
version whole, rather than our words around a text in another language.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from babel.dates import format_date
from flask_babel import force_locale, gettext, ngettext

from mailer.clock import format_when, utc_to_local
from mailer.events.service import event_place
from mailer.languages import LANGUAGES
from mailer.models import Event

SUBJECT_LIMIT = 200  # Mailing.subject and .preheader
_MARKDOWN_SPECIAL = re.compile(r"([\\`*_{}\[\]<>#|!])")


@dataclass(frozen=True)
class MailText:
    subject: str
    preheader: str
    body_markdown: str


def _shorten(text: str, limit: int = SUBJECT_LIMIT) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def _markdown_literal(text: str) -> str:
    """The title as literal Markdown text: a "*" in a title must not turn the rest italic."""
    return _MARKDOWN_SPECIAL.sub(r"\\\1", text)


def _date(event: Event, language: str) -> str:
    return format_date(utc_to_local(event.starts_at), "long", locale=language)


def _when_and_where(event: Event, language: str) -> str:
    when = format_when(event.starts_at, event.ends_at, language)
    place = event_place(event, language)
    return _shorten(f"{when} · {place}" if place else when)


def _subject_with_title(template: str, title: str, **values: object) -> str:
    """Fill a translated subject, shortening the title (not the rest) to fit the limit."""
    subject = template % {"title": title, **values}
    excess = len(subject) - SUBJECT_LIMIT
    if excess > 0:
        subject = template % {"title": _shorten(title, max(len(title) - excess, 10)), **values}
    return _shorten(subject)


def event_languages(event: Event) -> list[str]:
    """The languages the event is written in: a title or a description of its own."""
    return [language for language in LANGUAGES
            if (getattr(event, f"title_{language}") or "").strip()
            or (getattr(event, f"description_markdown_{language}") or "").strip()]


def versions(texts: dict[str, MailText]) -> dict[str, str]:
    """Per-language texts as a mailing's columns (subject_da, …); a language without a text stays empty."""
    return {f"{name}_{language}": getattr(texts[language], name) if language in texts else ""
            for language in LANGUAGES for name in ("subject", "preheader", "body_markdown")}


def announcement_texts(event: Event) -> dict[str, MailText]:
    return {language: announcement_text(event, language) for language in event_languages(event)}


def reminder_texts(event: Event, days_before: int) -> dict[str, MailText]:
    return {language: reminder_text(event, days_before, language) for language in event_languages(event)}


def cancellation_texts(event: Event) -> dict[str, MailText]:
    return {language: cancellation_text(event, language) for language in event_languages(event)}


def announcement_text(event: Event, language: str) -> MailText:
    """An invitation to the event: its title and date, and its own description."""
    title = event.title_for(language)
    with force_locale(language):
        subject = _subject_with_title(gettext("%(title)s – %(date)s"), title, date=_date(event, language))
        intro = gettext("We would like to invite you to %(title)s.", title=f"**{_markdown_literal(title)}**")
        outro = gettext("You will find the time, the place and links for your calendar below.")
        preheader = _when_and_where(event, language)
    parts = [intro, event.description_for(language).strip(), outro]
    return MailText(subject, preheader, "\n\n".join(part for part in parts if part))


def _relative(days_before: int) -> str:
    if days_before == 1:
        return gettext("tomorrow")
    return ngettext("in %(num)d day", "in %(num)d days", days_before)


def reminder_text(event: Event, days_before: int, language: str) -> MailText:
    """A short reminder that the event is coming up."""
    title = event.title_for(language)
    with force_locale(language):
        subject = _subject_with_title(gettext("Reminder: %(title)s, %(relative)s"), title,
                                      relative=_relative(days_before))
        when = format_when(event.starts_at, event.ends_at, language)
        body = "\n\n".join((
            gettext("A reminder: %(title)s is on %(when)s.", title=f"**{_markdown_literal(title)}**", when=when),
            gettext("We look forward to seeing you."),
        ))
        preheader = _when_and_where(event, language)
    return MailText(subject, preheader, body)


def cancellation_text(event: Event, language: str) -> MailText:
    """The notice that the event will not take place; its .ics removes it from calendars."""
    title = event.title_for(language)
    with force_locale(language):
        subject = _subject_with_title(gettext("Cancelled: %(title)s"), title)
        preheader = _shorten(gettext("%(title)s on %(date)s will not take place.", title=title,
                                     date=_date(event, language)))
        when = format_when(event.starts_at, event.ends_at, language)
        body = "\n\n".join((
            gettext("Unfortunately, we have had to cancel %(title)s, planned for %(when)s.",
                    title=f"**{_markdown_literal(title)}**", when=when),
            gettext("If you added it to your calendar, open the attached file to remove it again."),
            gettext("We are sorry for the inconvenience and hope to see you at another event."),
        ))
    return MailText(subject, preheader, body)
