"""Why a reader gets a mail, said in its footer: one text per frequency (every announcement, digest, both).

The footer is compiled once per batch and language with a marker in its place; each recipient's
frequency picks the text (a few joins, like the name and links).
"""
from __future__ import annotations

from flask_babel import force_locale, gettext

from mailer.models import Frequency


def mailing_footers(language: str) -> dict[str | None, str]:
    """The footer of an announcement, reminder, update or cancellation notice, per frequency."""
    with force_locale(language):
        return {
            Frequency.ANNOUNCEMENTS.value: gettext(
                "You get this email because you chose every announcement. You can have a digest of upcoming "
                "events instead, or both."),
            Frequency.BOTH.value: gettext(
                "You get this email because you chose every announcement and the digest of upcoming events. "
                "You can have only one of them instead."),
            # A reminder or notice of an event they were told of before they switched to the digest.
            Frequency.DIGEST.value: gettext(
                "You get this email because we told you of this event before. For everything else you chose "
                "the digest of upcoming events."),
            None: gettext("You get this email because you subscribed to our newsletter."),  # a test send
        }


def digest_footers(language: str) -> dict[str | None, str]:
    """The footer of the digest, per frequency."""
    with force_locale(language):
        digest_only = gettext("You get this digest because you chose a digest of upcoming events. You can have "
                              "every announcement instead, or both.")
        return {
            Frequency.DIGEST.value: digest_only,
            Frequency.BOTH.value: gettext(
                "You get this digest because you chose every announcement and the digest of upcoming events. "
                "You can have only one of them instead."),
            Frequency.ANNOUNCEMENTS.value: digest_only,  # not sent to them; said plainly if it ever were
            None: digest_only,
        }


def footer_for(footers: dict[str | None, str], frequency: str | None) -> str:
    return footers.get(frequency, footers[None])
