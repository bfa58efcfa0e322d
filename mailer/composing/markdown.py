"""Staff Markdown to safe HTML: CommonMark with tables, then nh3 keeps only safe tags and attributes."""
from __future__ import annotations

import nh3
from markdown_it import MarkdownIt

_markdown = MarkdownIt("commonmark", {"linkify": False}).enable("table")


def markdown_to_safe_html(source: str) -> str:
    """Render staff Markdown and keep only safe HTML."""
    return nh3.clean(_markdown.render(source), link_rel="noopener")
