"""The plain-text part is text: Markdown rendered readably, the same content as the HTML part, in every mail kind."""
from __future__ import annotations

import re
from html.parser import HTMLParser
from urllib.parse import parse_qs, urlparse

import pytest

from mailer.composing.markdown import markdown_to_text
from mailer.events.calendar import calendar_links
from mailer.events.service import get_event
from tests.every_mail_kind import KINDS, send_every_kind
from tests.factories import create_event
from tests.helpers import parse_mail

# What Markdown syntax looks like when it leaks into text: emphasis markers, inline links,
# images, code ticks, ATX headings and list markers at the start of a line.
MARKDOWN_SYNTAX = [
    re.compile(r"\*\*|__"),
    re.compile(r"(?<![\w*])[*_][^\s*_][^*_\n]*[*_](?![\w*])"),
    re.compile(r"\]\("),
    re.compile(r"!\["),
    re.compile(r"`"),
    re.compile(r"^\s{0,3}#{1,6}\s", re.M),
    re.compile(r"^\s*[-*+]\s", re.M),
]


_URL = re.compile(r"https?://\S+")


def markdown_left_in(text: str) -> list[str]:
    """The Markdown syntax in a text part, its links' addresses left out: a signed token may hold "__"."""
    prose = _URL.sub("", text)
    return [match.group(0) for pattern in MARKDOWN_SYNTAX for match in pattern.finditer(prose)]


@pytest.mark.parametrize("source, expected", [
    ("Kom til **workshop** om _normer_.", "Kom til workshop om normer."),
    ("[Tilmeld dig](https://example.org/tilmeld)", "Tilmeld dig (https://example.org/tilmeld)"),
    ("<https://example.org>", "https://example.org"),
    ("Skriv til <mailto:info@example.org>", "Skriv til info@example.org"),
    ("- ét\n- to", "• ét\n• to"),
    ("1. første\n2. anden", "1. første\n2. anden"),
    ("# Program\n\nTekst", "Program\n=======\n\nTekst"),
    ("### Lille overskrift", "Lille overskrift"),
    ("Brug `flask seed`", "Brug flask seed"),
    ("![Et foto af salen](https://example.org/a.jpg)", "Et foto af salen"),
    ("\\*ikke fed\\*", "*ikke fed*"),
    ("<b>fed</b> &amp; mere", "fed & mere"),
])
def test_markdown_becomes_readable_text(source, expected):
    assert markdown_to_text(source) == expected


def test_nested_lists_keep_their_shape():
    assert markdown_to_text("- a\n  - b\n- c") == "• a\n  • b\n• c"


class _VisibleWords(HTMLParser):
    """The words a reader sees in the HTML part (not the head, nor the hidden preheader)."""

    VOID = {"br", "img", "hr", "meta", "link", "input", "col", "area", "base", "source", "wbr"}

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.words: list[str] = []
        self._stack: list[tuple[str, bool]] = []

    def handle_starttag(self, tag, attrs):
        if tag in self.VOID:
            return
        style = (dict(attrs).get("style") or "").replace(" ", "").lower()
        hidden = tag in ("head", "style", "script", "title") or "display:none" in style
        self._stack.append((tag, hidden or bool(self._stack and self._stack[-1][1])))

    def handle_endtag(self, tag):
        for depth in range(len(self._stack) - 1, -1, -1):
            if self._stack[depth][0] == tag:
                del self._stack[depth:]
                break

    def handle_data(self, data):
        if not (self._stack and self._stack[-1][1]):
            self.words.extend(re.findall(r"\w+", data))


def _parts(data: bytes) -> tuple[str, str]:
    mail = parse_mail(data)
    return mail.get_body(("plain",)).get_content().replace("\r\n", "\n"), mail.get_body(("html",)).get_content()


def test_no_mail_kind_has_markdown_in_its_text_part_and_each_says_what_its_html_says(app, outbox, monkeypatch):
    with app.app_context():
        by_kind = send_every_kind(monkeypatch, lambda: outbox.sent)
    assert sorted(by_kind) == sorted(KINDS)
    for kind, mails in by_kind.items():
        for _, data in mails:
            text, html = _parts(data)
            assert markdown_left_in(text) == [], (kind, text)
            parser = _VisibleWords()
            parser.feed(html)
            missing = {word for word in parser.words if word not in text}
            assert missing == set(), (kind, sorted(missing))


def test_the_announcement_text_renders_the_event_description(app, outbox, monkeypatch):
    with app.app_context():
        by_kind = send_every_kind(monkeypatch, lambda: outbox.sent)
    text, _ = _parts(by_kind["announcement"][0][1])
    assert "Koncert i Musikhuset" in text and "**" not in text
    assert "Kom til en koncert med Aarhus Symfoniorkester." in text
    # "label (url)"; the url is the counted link /l/<token> (issue 15), which leads to https://example.org/aso
    assert re.search(r"orkestrets side \(https://news\.example\.org/l/[\w.-]+\)\.", text)
    assert "• Gratis entré" in text and "1. Dørene åbner" in text
    assert "Program\n-------" in text


def test_calendar_descriptions_are_text(app, clock):
    with app.app_context():
        event = get_event(create_event("Koncert", "events-aarhus", description_markdown_da=(
            "Kom til **koncert**.\n\n[Billetter](https://example.org/billet)\n\n- gratis")))
        links = calendar_links(event)
    google = parse_qs(urlparse(links["google"]).query)["details"][0]
    outlook = parse_qs(urlparse(links["outlook"]).query)["body"][0]
    for details in (google, outlook):
        assert details.startswith("Kom til koncert.\n\nBilletter (https://example.org/billet)\n\n• gratis")
        assert markdown_left_in(details) == []
