"""The pre-send check: accessibility and deliverability warnings that never block sending."""
from __future__ import annotations

import json
import re
from dataclasses import asdict, dataclass
from html.parser import HTMLParser

from flask_babel import gettext

SUBJECT_LIMIT = 80
TEXT_RATIO = 0.5  # the text part should carry at least half as much as the HTML shows
# Link text that says nothing out of context (WCAG 2.4.4), in English and Danish.
VAGUE_LINK_TEXT = frozenset({
    "click here", "click", "here", "this link", "link", "read more", "more", "press here", "this",
    "klik her", "klik", "her", "tryk her", "dette link", "linket", "link her", "læs mere", "mere", "denne",
})
_HIDDEN_ELEMENTS = frozenset({"head", "style", "script", "title", "template"})
_VOID_ELEMENTS = frozenset({"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source",
                            "track", "wbr"})
_SPACE = re.compile(r"\s+")
_PUNCTUATION = re.compile(r"[\s.,:;!?…»«\"'()\[\]→←-]+")


@dataclass(frozen=True)
class Warning:  # noqa: A001 - the domain's word; the builtin is never needed here
    code: str
    message: str


class _MailInspector(HTMLParser):
    """Collect what the check needs from one HTML part in a single pass."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.html_lang: str | None = None
        self.saw_html = False
        self.images_without_alt: list[str] = []
        self.insecure_links: list[str] = []
        self.vague_links: list[str] = []
        self.visible_text: list[str] = []
        self._open_links: list[list[str]] = []
        self._stack: list[tuple[str, bool]] = []  # open elements and whether each is hidden

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = {name: value or "" for name, value in attrs}
        if tag == "html":
            self.saw_html = True
            self.html_lang = attributes.get("lang", "").strip() or None
        elif tag == "img":
            if not attributes.get("alt", "").strip():
                self.images_without_alt.append(attributes.get("src", ""))
            elif self._open_links:  # an image link is named by its alt text
                self._open_links[-1].append(attributes["alt"])
        elif tag == "a":
            href = attributes.get("href", "").strip()
            if href.lower().startswith("http://"):
                self.insecure_links.append(href)
            self._open_links.append([])
        if tag not in _VOID_ELEMENTS:
            hidden = (tag in _HIDDEN_ELEMENTS or (self._stack and self._stack[-1][1])
                      or "display:none" in attributes.get("style", "").replace(" ", "").lower())
            self._stack.append((tag, bool(hidden)))

    def handle_endtag(self, tag: str) -> None:
        if tag == "a" and self._open_links:
            text = _PUNCTUATION.sub(" ", " ".join(self._open_links.pop())).strip().lower()
            if text in VAGUE_LINK_TEXT:
                self.vague_links.append(text)
        for depth in range(len(self._stack) - 1, -1, -1):  # close up to the matching start tag
            if self._stack[depth][0] == tag:
                del self._stack[depth:]
                break

    def handle_data(self, data: str) -> None:
        if self._open_links:
            self._open_links[-1].append(data)
        if not (self._stack and self._stack[-1][1]):
            self.visible_text.append(data)


def _length(text: str) -> int:
    return len(_SPACE.sub(" ", text).strip())


def presend_warnings(subject: str, preheader: str, html: str, text: str) -> list[Warning]:
    """Check one rendered mailing; return its warnings (empty when all is well)."""
    warnings: list[Warning] = []
    inspector = _MailInspector()
    inspector.feed(html)
    inspector.close()
    if inspector.images_without_alt:
        warnings.append(Warning("image_without_alt", gettext(
            "%(count)s image(s) have no alt text. Describe each image for people who cannot see it.",
            count=len(inspector.images_without_alt))))
    if not inspector.html_lang:
        warnings.append(Warning("missing_lang", gettext(
            "The HTML has no lang attribute, so screen readers may read it in the wrong language.")))
    if inspector.vague_links:
        quoted = ", ".join(f"“{text}”" for text in sorted(set(inspector.vague_links)))
        warnings.append(Warning("vague_link_text", gettext(
            "Link text such as %(texts)s says nothing out of context. Say where the link goes.", texts=quoted)))
    if inspector.insecure_links:
        warnings.append(Warning("insecure_link", gettext(
            "%(count)s link(s) use http:// instead of https://: %(links)s",
            count=len(inspector.insecure_links), links=", ".join(inspector.insecure_links[:3]))))
    if not subject.strip():
        warnings.append(Warning("subject_empty", gettext("The subject is empty.")))
    elif len(subject) > SUBJECT_LIMIT:
        warnings.append(Warning("subject_too_long", gettext(
            "The subject has %(length)s characters; over %(limit)s, most mail apps cut it off.",
            length=len(subject), limit=SUBJECT_LIMIT)))
    if not (preheader or "").strip():
        warnings.append(Warning("preheader_empty", gettext(
            "The preheader is empty, so mail apps show the first words of the mail instead.")))
    html_length = _length(" ".join(inspector.visible_text))
    if html_length and _length(text) < TEXT_RATIO * html_length:
        warnings.append(Warning("text_too_short", gettext(
            "The text part is much shorter than the HTML part (%(text)s against %(html)s characters); "
            "spam filters and text-only readers notice.", text=_length(text), html=html_length)))
    return warnings


def warnings_to_json(warnings: list[Warning]) -> str:
    """Serialise warnings for Mailing.presend_warnings."""
    return json.dumps([asdict(w) for w in warnings], ensure_ascii=False)


def warnings_from_json(value: str | None) -> list[Warning]:
    """Read recorded warnings back; a damaged value reads as none."""
    try:
        items = json.loads(value or "[]")
        return [Warning(str(item["code"]), str(item["message"])) for item in items]
    except (ValueError, TypeError, KeyError):
        return []
