"""Route the links in a mailing's body through /l/<token>, so clicks are counted per link.

Only the body staff wrote is rewritten: the unsubscribe and manage links, List-Unsubscribe,
"view in browser" and the event card keep their direct URLs. Only http and https links are
counted; mailto:, tel: and in-page anchors stay as they are. The HTML and the text part of a
mail share one counter per link: the text's URLs are normalised the way the Markdown renderer
writes hrefs, and only those that are links in the HTML part are rewritten.
"""
from __future__ import annotations

import html
import re

from markdown_it import MarkdownIt

from mailer.mailings.clicks import register_links
from mailer.tokens import sign_click
from mailer.urls import public_url

# nh3 writes every attribute double-quoted, so the href of each <a> is found reliably.
_HREF = re.compile(r'(<a\s[^>]*?href=")([^"]*)(")', re.IGNORECASE)
# A URL in the Markdown source: up to whitespace, a bracket or a quote; trailing punctuation is prose.
_TEXT_URL = re.compile(r"https?://[^\s<>()\[\]\"']+", re.IGNORECASE)
_TRAILING = ".,;:!?"
_normalise = MarkdownIt("commonmark").normalizeLink


def _counted(url: str) -> bool:
    return url.lower().startswith(("http://", "https://"))


def _text_urls(text: str) -> list[tuple[int, int, str]]:
    found = []
    for match in _TEXT_URL.finditer(text):
        url = match.group(0).rstrip(_TRAILING)
        found.append((match.start(), match.start() + len(url), url))
    return found


class CountedLinks:
    """Rewrite one mailing's body (HTML and text) so each link goes through /l/<token>."""

    def __init__(self, mailing_id: int, body_html: str, body_text: str) -> None:
        self.mailing_id = mailing_id
        hrefs = [html.unescape(m.group(2)) for m in _HREF.finditer(body_html)]
        # The links of the HTML part are counted; the text part counts the same ones (a bare URL,
        # which the HTML shows as plain text, stays plain in both).
        link_ids = register_links(mailing_id, [u for u in hrefs if _counted(u)])
        self._targets = {url: public_url("public.click", token=sign_click(mailing_id, link_id))
                         for url, link_id in link_ids.items()}

    def _target(self, url: str) -> str:
        return self._targets.get(url, url)

    def rewrite_html(self, body_html: str) -> str:
        def swap(match: re.Match) -> str:
            url = html.unescape(match.group(2))
            if not _counted(url):
                return match.group(0)
            return match.group(1) + html.escape(self._target(url)) + match.group(3)
        return _HREF.sub(swap, body_html)

    def rewrite_text(self, body_text: str) -> str:
        pieces, last = [], 0
        for start, end, url in _text_urls(body_text):
            pieces += [body_text[last:start], self._target(_normalise(url))]
            last = end
        return "".join(pieces) + body_text[last:]
