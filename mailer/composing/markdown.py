"""Staff Markdown to safe HTML (CommonMark with tables, then nh3), and to readable plain text.

The plain text is what the text part of a mail and a calendar description show: the same
markdown-it parse as the HTML, walked as a syntax tree, with no Markdown syntax left:
emphasis without markers, links as "label (url)", lists with bullets, headings underlined.
"""
from __future__ import annotations

import html
import re

import nh3
from markdown_it import MarkdownIt
from markdown_it.tree import SyntaxTreeNode

_markdown = MarkdownIt("commonmark", {"linkify": False}).enable("table")

BULLET = "•"
_UNDERLINE = {"h1": "=", "h2": "-"}
_BLANK_LINES = re.compile(r"\n{3,}")


def markdown_to_safe_html(source: str) -> str:
    """Render staff Markdown and keep only safe HTML."""
    return nh3.clean(_markdown.render(source), link_rel="noopener")


def markdown_to_text(source: str | None) -> str:
    """Render staff Markdown as readable plain text, for text parts and calendar descriptions."""
    tree = SyntaxTreeNode(_markdown.parse(source or ""))
    text = "\n\n".join(block for block in (_block(child) for child in tree.children) if block)
    return _BLANK_LINES.sub("\n\n", text).strip()


def _strip_html(markup: str) -> str:
    return html.unescape(nh3.clean(markup, tags=set()))


def _inline(node: SyntaxTreeNode) -> str:
    """The text of inline content: markers dropped, links as "label (url)", images as their alt text."""
    parts: list[str] = []
    for child in node.children:
        kind = child.type
        if kind == "text":
            parts.append(child.content)
        elif kind == "code_inline":
            parts.append(child.content)
        elif kind in ("softbreak", "hardbreak"):
            parts.append("\n")
        elif kind == "link":
            label, url = _inline(child).strip(), str(child.attrs.get("href", ""))
            bare = url.removeprefix("mailto:")
            parts.append(bare if label in (url, bare) else label if not url else f"{label} ({bare})")
        elif kind == "image":
            parts.append(_inline(child) or str(child.attrs.get("alt", "")))
        elif kind == "html_inline":
            parts.append(_strip_html(child.content))
        else:  # strong, em, s and any other wrapper: its text, without the markers
            parts.append(_inline(child))
    return "".join(parts)


def _indent(text: str, first: str, rest: str) -> str:
    lines = text.split("\n")
    return "\n".join([first + lines[0], *[(rest + line) if line else "" for line in lines[1:]]])


def _list(node: SyntaxTreeNode) -> str:
    ordered = node.type == "ordered_list"
    start = int(node.attrs.get("start", 1)) if ordered else 1
    items = []
    for number, item in enumerate(node.children, start=start):
        mark = f"{number}. " if ordered else f"{BULLET} "
        # Items of a tight list are single lines; a loose one keeps its paragraphs apart.
        body = "\n".join(block for block in (_block(child) for child in item.children) if block)
        items.append(_indent(body, mark, " " * len(mark)))
    return "\n".join(items)


def _table(node: SyntaxTreeNode) -> str:
    rows = []
    for section in node.children:
        for row in section.children:
            rows.append(" · ".join(_inline(cell.children[0]) if cell.children else "" for cell in row.children))
    return "\n".join(rows)


def _block(node: SyntaxTreeNode) -> str:
    kind = node.type
    if kind == "paragraph":
        return _inline(node.children[0]) if node.children else ""
    if kind == "heading":
        title = _inline(node.children[0]).strip() if node.children else ""
        line = _UNDERLINE.get(node.tag)
        return f"{title}\n{line * len(title)}" if line and title else title
    if kind in ("bullet_list", "ordered_list"):
        return _list(node)
    if kind == "blockquote":
        inner = "\n\n".join(block for block in (_block(child) for child in node.children) if block)
        return _indent(inner, "    ", "    ")
    if kind in ("fence", "code_block"):
        return _indent(node.content.rstrip("\n"), "    ", "    ")
    if kind == "hr":
        return "―" * 20
    if kind == "html_block":
        return _strip_html(node.content).strip()
    if kind == "table":
        return _table(node)
    if kind == "inline":
        return _inline(node)
    return "\n".join(block for block in (_block(child) for child in node.children) if block)
