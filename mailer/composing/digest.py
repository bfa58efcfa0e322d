"""Compose digests: one frame per batch and language, each event rendered once, joined per recipient.

The frame (greeting, introduction, footer) is rendered and CSS-inlined once with markers in
place of the personal parts, as CompiledMailing does. Each event is rendered once per
language (and once more if some recipient sees it marked "New"); a recipient then costs a JSON
parse, a few joins and two token signatures.

No .ics attachment: a file with several events makes mail clients offer to import them all at
once. Each event has its own Google and Outlook links instead, and the footer points to the
calendar feed for those who want everything.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from html import escape
from typing import Any

from flask import current_app, render_template
from flask_babel import force_locale, gettext, ngettext
from sqlalchemy import select
from werkzeug.routing import BuildError

from mailer.composing.event_facts import event_facts
from mailer.composing.links import PersonalLinks
from mailer.composing.mailing import PersonalMessage
from mailer.composing.rendering import RenderedParts, inline_css, marker, new_nonce
from mailer.extensions import db
from mailer.models import Event, Mailing
from mailer.sending.deliveries import Recipient
from mailer.urls import public_url

FIELDS = ("greeting", "unsubscribe_url", "manage_url", "events")


@dataclass(frozen=True)
class DigestPayload:
    """What one recipient's digest shows, chosen at snapshot time: event ids in order, and the new ones."""

    events: tuple[int, ...]
    new: tuple[int, ...]

    def to_json(self) -> str:
        return json.dumps({"events": list(self.events), "new": list(self.new)}, separators=(",", ":"))

    @classmethod
    def from_json(cls, raw: str | None) -> DigestPayload:
        """Parse a row's payload; raise ValueError (the engine fails that row) when it is not one."""
        try:
            data = json.loads(raw or "")
            events = tuple(int(i) for i in data["events"])
            new = tuple(int(i) for i in data["new"])
        except (TypeError, KeyError, ValueError) as error:
            raise ValueError(f"not a digest payload: {raw!r:.80}") from error
        return cls(events, new)


def _url_or_none(endpoint: str) -> str | None:
    try:
        return public_url(endpoint)
    except BuildError:  # the events pages are not registered on this app (some tests)
        return None


class CompiledDigest:
    """The digest in one language, ready to personalise from each recipient's payload."""

    def __init__(self, mailing: Mailing, language: str) -> None:
        self.language = language
        self.topic_ids = tuple(sorted(t.id for t in mailing.topics))
        nonce = new_nonce()
        marks = {field: marker(field, nonce) for field in FIELDS}
        organisation = current_app.config["ORGANISATION_NAME"]
        with force_locale(language):
            self._hello_name = gettext("Hello %(name)s,")
            self._hello = gettext("Hello,")
            context = {
                "language": language,
                "title": gettext("Upcoming events"),
                "preheader": gettext("What's on at %(organisation)s", organisation=organisation),
                "organisation_name": organisation,
                "events_page_url": _url_or_none("events.events"),
                "feed_url": _url_or_none("events.feed"),
                **marks,
            }
            html = render_template("email/digest.html", **context)
            text = render_template("email/digest.txt", **context)
        self._html = RenderedParts(inline_css(html), FIELDS, nonce)
        self._text = RenderedParts(text, FIELDS, nonce)
        self._facts: dict[int, dict[str, Any] | None] = {}  # None: deleted since the snapshot
        self._rendered: dict[tuple[int, bool], tuple[str, str]] = {}
        self._subjects: dict[int, str] = {}
        self._links = PersonalLinks(self.topic_ids, mailing_id=mailing.id)

    def _load(self, event_ids: tuple[int, ...]) -> None:
        """Read the events not seen yet in one query, as they are now (a moved event shows its new time)."""
        missing = [i for i in dict.fromkeys(event_ids) if i not in self._facts]
        if not missing:
            return
        with force_locale(self.language):
            for event in db.session.scalars(select(Event).where(Event.id.in_(missing))):
                self._facts[event.id] = event_facts(event, self.language)
        for event_id in missing:
            self._facts.setdefault(event_id, None)

    def _event(self, event_id: int, new: bool) -> tuple[str, str]:
        key = (event_id, new)
        if key not in self._rendered:
            with force_locale(self.language):
                facts = {**self._facts[event_id], "new": new}
                self._rendered[key] = (render_template("email/_digest_event.html", event=facts),
                                       render_template("email/_digest_event.txt", event=facts).strip())
        return self._rendered[key]

    def _subject(self, new_count: int) -> str:
        if new_count not in self._subjects:
            with force_locale(self.language):
                self._subjects[new_count] = ngettext("Upcoming events: %(num)d new", "Upcoming events: %(num)d new",
                                                     new_count)
        return self._subjects[new_count]

    def personalise(self, recipient: Recipient) -> PersonalMessage:
        """Fill in one recipient's events, name and links; raise ValueError when nothing new is left."""
        payload = DigestPayload.from_json(recipient.payload)
        self._load(payload.events)
        shown = [i for i in payload.events if self._facts.get(i) is not None]
        new = set(payload.new).intersection(shown)
        if not new:
            # Its new events were deleted after the snapshot: an empty or stale digest is not worth a mail.
            raise ValueError("no new event left to show in this digest")
        pieces = [self._event(i, i in new) for i in shown]
        urls, headers = self._links.for_recipient(recipient)
        name = recipient.name or ""
        links = {"greeting": self._hello_name % {"name": name} if name else self._hello, **urls}
        html_values = {key: escape(value) for key, value in links.items()}
        html_values["events"] = "".join(html for html, _ in pieces)
        text_values = {**links, "events": "\n\n".join(text for _, text in pieces)}
        return PersonalMessage(self._subject(len(new)), self._html.fill(html_values), self._text.fill(text_values),
                               headers)
