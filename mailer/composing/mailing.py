"""Compile a mailing once per batch and language; personalise each recipient cheaply.

The templates are rendered once with markers in place of the per-recipient values (name,
greeting, links), CSS is inlined once, and each recipient then costs a few string joins.
Rendering Jinja and inlining CSS per recipient would cost more than building and sending
the message (see docs/PERFORMANCE.md).

This is the one render path: the engine, the staff preview, the test send and the public
archive all go through CompiledMailing.
"""
from __future__ import annotations

import secrets
from dataclasses import dataclass
from html import escape
from typing import Any

from flask import current_app, render_template
from flask_babel import force_locale, gettext
from markupsafe import Markup
from werkzeug.routing import BuildError

from mailer.composing.custom_templates import HTML_VARIABLES, TEXT_VARIABLES, render_custom
from mailer.composing.event_facts import event_facts
from mailer.composing.counted_links import CountedLinks
from mailer.composing.footers import footer_for, mailing_footers
from mailer.composing.links import PersonalLinks
from mailer.composing.markdown import markdown_to_safe_html, markdown_to_text
from mailer.composing.rendering import RenderedParts, inline_css, marker, new_nonce
from mailer.events.calendar import event_to_ics
from mailer.extensions import db
from mailer.mail.mime import Attachment, EncodedText
from mailer.models import Event, Mailing, MailingKind, MailTemplate
from mailer.sending.deliveries import Recipient
from mailer.urls import public_url

FIELDS = ("greeting", "name", "unsubscribe_url", "manage_url", "frequency_note")
# The METHOD parameter must match the METHOD inside the file (RFC 6047): PUBLISH, or CANCEL.
ICS_CONTENT_TYPE = "text/calendar; method={method}; charset=utf-8"


@dataclass(frozen=True)
class PersonalMessage:
    subject: str
    html: str | EncodedText
    text: str | EncodedText
    headers: dict[str, str]
    attachments: tuple[Attachment, ...] = ()


def placeholder_recipient(email: str = "test@example.org", name: str | None = "Test", language: str = "da") -> Recipient:
    """A recipient who is nobody: for test sends. Its links are well-formed but match no subscriber."""
    return Recipient(delivery_id=0, subscriber_id=0, email=email, name=name, language=language,
                     public_id="test-" + secrets.token_urlsafe(8), token_secret=secrets.token_urlsafe(12), attempts=0)


def archive_url(mailing_id: int, language: str | None = None) -> str:
    """The public web version of a mailing ("view in browser"), in the reader's language when given."""
    try:
        if language:
            return public_url("archive.item", mailing_id=mailing_id, lang=language)
        return public_url("archive.item", mailing_id=mailing_id)
    except BuildError:  # the archive pages are not registered on this app (some tests)
        return f"{current_app.config['BASE_URL'].rstrip('/')}/archive/{mailing_id}"


def _ics_attachment(event: Event, language: str, kind: str | None = None) -> Attachment:
    """The event as .ics: a cancellation notice removes it from calendars (METHOD:CANCEL, same UID).

    Every other kind, the update notice too, is METHOD:PUBLISH: RFC 5546 (3.2.1) has the organizer
    update a published event "with another PUBLISH" (REQUEST is for invitations with attendees).
    The same UID and the event's higher SEQUENCE make calendars move the entry they have.
    """
    method = "CANCEL" if kind == MailingKind.CANCELLATION else "PUBLISH"
    return Attachment(filename="event.ics", content_type=ICS_CONTENT_TYPE.format(method=method),
                      data=event_to_ics(event, method, language))


class CompiledMailing:
    """One mailing in one language, ready to personalise for many recipients.

    Everything is in that language: the version's subject, preheader and text (or the other
    version's, when this one was left empty), the frame, the event card and its .ics.

    With `web_version=True` it renders the public archive copy: no personal links, a
    "subscribe" link in place of unsubscribe / manage. With `preview=True` (staff previews)
    the personal links are inert: they open nothing (PersonalLinks). With `count_clicks=True`
    (the sending engine, when MAILER_LINK_COUNTING is on) the body's links go through /l/<token>.
    """

    def __init__(self, mailing: Mailing, language: str, *, web_version: bool = False, preview: bool = False,
                 count_clicks: bool = False) -> None:
        self.topic_ids = tuple(sorted(t.id for t in mailing.topics))
        self.language = language
        self.web_version = web_version
        event = getattr(mailing, "event", None)
        template = db.session.get(MailTemplate, mailing.template_id) if mailing.template_id else None
        nonce = new_nonce()
        marks = {field: marker(field, nonce) for field in FIELDS}
        with force_locale(language):
            self._hello_name = gettext("Hello %(name)s,")
            self._hello = gettext("Hello,")
            context: dict[str, Any] = {
                "language": language,
                "subject": mailing.subject_for(language),
                "preheader": mailing.preheader_for(language),
                "organisation_name": current_app.config["ORGANISATION_NAME"],
                # Only once the archive answers for it: a test send of a draft has no web version yet.
                "view_in_browser_url": (archive_url(mailing.id, language)
                                        if mailing.id and mailing.started_at and not web_version else ""),
                "web_version": web_version,
                "subscribe_url": public_url("public.subscribe"),
                **marks,
            }
            card = event_facts(event, language) if event is not None else None
            # The archive's web copy has no attachment to point to.
            event_html = render_template("email/_event_card.html", card=card, language=language,
                                         ics_attached=not web_version) if card else ""
            event_text = render_template("email/_event_card.txt", card=card, language=language,
                                         ics_attached=not web_version) if card else ""
            body = mailing.body_for(language)
            body_html, body_text = markdown_to_safe_html(body), markdown_to_text(body)
            if count_clicks and mailing.id:
                counted = CountedLinks(mailing.id, body_html, body_text)
                body_html, body_text = counted.rewrite_html(body_html), counted.rewrite_text(body_text)
            html_context = {**context, "body_html": Markup(body_html), "event_card_html": Markup(event_html)}
            text_context = {**context, "body_text": body_text, "event_card_text": event_text}
            if template is not None:
                html, text = self._render_custom(template, html_context, text_context)
            else:
                html = render_template("email/mailing.html", **html_context)
                text = render_template("email/mailing.txt", **text_context)
        self.subject = mailing.subject_for(language)
        self._html = RenderedParts(inline_css(html), FIELDS, nonce)
        self._text = RenderedParts(text, FIELDS, nonce)
        self.attachments: tuple[Attachment, ...] = (_ics_attachment(event, language, mailing.kind),) if event is not None and not web_version else ()
        self._links = PersonalLinks(self.topic_ids, inert=preview, mailing_id=mailing.id)
        self._footers = mailing_footers(language)
        self._subscribe_url = context["subscribe_url"]

    @staticmethod
    def _render_custom(template: MailTemplate, html_context: dict[str, Any], text_context: dict[str, Any]) -> tuple[str, str]:
        """Render an admin's template pair in the sandbox; TemplateRefused is a ValueError the engine records."""
        html = render_custom(template.html_source, {k: html_context[k] for k in HTML_VARIABLES}, html=True)
        text = render_custom(template.text_source, {k: text_context[k] for k in TEXT_VARIABLES}, html=False)
        return html, text

    def _values(self, recipient: Recipient) -> tuple[dict[str, str], dict[str, str]]:
        urls, headers = self._links.for_recipient(recipient)
        name = recipient.name or ""
        greeting = self._hello_name % {"name": name} if name else self._hello
        return {"greeting": greeting, "name": name, "frequency_note": footer_for(self._footers, recipient.frequency),
                **urls}, headers

    def personalise(self, recipient: Recipient) -> PersonalMessage:
        """Fill in one recipient's name and links."""
        text_values, headers = self._values(recipient)
        html_values = {key: escape(value) for key, value in text_values.items()}
        return PersonalMessage(self.subject, self._html.fill(html_values), self._text.fill(text_values), headers,
                               self.attachments)

    def personalise_encoded(self, recipient: Recipient) -> PersonalMessage:
        """Like personalise, with both bodies already in quoted-printable: the engine's fast path."""
        text_values, headers = self._values(recipient)
        html_values = {key: escape(value) for key, value in text_values.items()}
        return PersonalMessage(self.subject, self._html.fill_encoded(html_values),
                               self._text.fill_encoded(text_values), headers, self.attachments)

    def public_copy(self) -> PersonalMessage:
        """The neutral copy for the public archive: a general greeting and no personal links."""
        values = {"greeting": self._hello, "name": "", "unsubscribe_url": self._subscribe_url,
                  "manage_url": self._subscribe_url, "frequency_note": ""}
        html_values = {key: escape(value) for key, value in values.items()}
        return PersonalMessage(self.subject, self._html.fill(html_values), self._text.fill(values), {}, ())
