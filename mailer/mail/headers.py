"""Refuse header injection and encode header fields (RFC 5322, RFC 2047)."""
from __future__ import annotations

import base64
import re
from collections.abc import Callable

# Longest line we aim for (RFC 5322 "SHOULD" 78) and the hard limit ("MUST" 998).
SOFT_LINE_LIMIT = 78
HARD_LINE_LIMIT = 998

# 39 bytes of UTF-8 give 52 base64 characters, so one encoded word is 64 characters:
# short enough that "Subject: " plus one word, or a continuation line, stays within 78.
_CHUNK_BYTES = 39
_LONG_WORD = SOFT_LINE_LIMIT - 1

_WHITESPACE = re.compile(r"([ \t]+)")
_PIECES = re.compile(r"[ \t]*[^ \t]+|[ \t]+")
_FIELD_NAME = re.compile(r"[!-9;-~]+")  # printable ASCII except ":" (RFC 5322 ftext)
_ATEXT = re.compile(r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+")
_ATEXT_PHRASE = re.compile(r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?: [A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*")
_ADDR_SPEC = re.compile(r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~.-]+@[A-Za-z0-9._-]+")


class HeaderInjectionError(ValueError):
    """A header value contains CR, LF or NUL."""


def check_header_value(value: str) -> str:
    """Return value unchanged, or raise HeaderInjectionError if it contains CR, LF or NUL."""
    # Checked here rather than left to the email package: Python 3.11's email module
    # has had header-injection bugs, so nothing reaches it (or the wire) unchecked.
    if not isinstance(value, str):
        raise TypeError(f"header value must be str, not {type(value).__name__}")
    if "\r" in value or "\n" in value or "\x00" in value:
        raise HeaderInjectionError(f"CR, LF or NUL in header value {value[:80]!r}")
    return value


def check_header_name(name: str) -> str:
    """Return name unchanged, or raise ValueError if it is not a valid field name."""
    check_header_value(name)
    if not _FIELD_NAME.fullmatch(name):
        raise ValueError(f"invalid header field name {name!r}")
    return name


def _encoded_words(text: str) -> str:
    """Encode text as space-separated UTF-8 'B' encoded words, never splitting a character."""
    raw = text.encode("utf-8")
    words = []
    start = 0
    while start < len(raw):
        end = min(start + _CHUNK_BYTES, len(raw))
        if end < len(raw):
            # Prefer to cut just before a space: a decoder that wrongly keeps the
            # separator between encoded words (CPython gh-128110, in display names)
            # then shows a doubled space instead of a word split in two.
            space = raw.rfind(b" ", start + 1, end)
            if space > start + _CHUNK_BYTES // 2:
                end = space
        # Back off while the cut would land on a UTF-8 continuation byte (10xxxxxx).
        while end < len(raw) and raw[end] & 0xC0 == 0x80:
            end -= 1
        words.append("=?utf-8?b?" + base64.b64encode(raw[start:end]).decode("ascii") + "?=")
        start = end
    return " ".join(words)


def _is_plain(word: str) -> bool:
    return word.isascii() and word.isprintable()


def _is_not_plain(word: str) -> bool:
    return not _is_plain(word)


def _needs_encoding_in_text(word: str) -> bool:
    return not _is_plain(word) or "=?" in word or len(word) > _LONG_WORD


def _needs_encoding_in_phrase(word: str) -> bool:
    return not _ATEXT.fullmatch(word) or "=?" in word


def _encode_runs(value: str, needs_encoding: Callable[[str], bool]) -> str:
    """Replace each run of adjacent words that need it by encoded words; keep the rest."""
    parts = _WHITESPACE.split(value)  # word, space, word, space, ..., word
    out: list[str] = []
    run: list[str] = []
    for index in range(0, len(parts), 2):
        word = parts[index]
        if word and needs_encoding(word):
            # Decoders drop the whitespace between two encoded words, so a run of
            # adjacent words carries its inner spaces inside the encoded text.
            if run:
                run.append(parts[index - 1])
            run.append(word)
            following = parts[index + 2] if index + 2 < len(parts) else ""
            if following and needs_encoding(following):
                continue
            out.append(_encoded_words("".join(run)))
            run = []
        else:
            out.append(word)
        if index + 1 < len(parts):
            out.append(parts[index + 1])
    return "".join(out)


def encode_unstructured(value: str, *, text: bool = True) -> str:
    """Return value with non-ASCII words replaced by RFC 2047 encoded words.

    With text=True (Subject and other free-text fields) words that look like encoded
    words or are too long to fold are encoded as well. With text=False (structured
    fields such as List-Unsubscribe) ASCII words are never touched.
    """
    if _is_plain(value) and (not text or ("=?" not in value and len(value) <= _LONG_WORD)):
        return value
    return _encode_runs(value, _needs_encoding_in_text if text else _is_not_plain)


def format_address(value: str) -> str:
    """Return 'Name <addr>' or 'addr' as header text, the name quoted or encoded as needed."""
    check_header_value(value)
    value = value.strip()
    name = ""
    addr = value
    if value.endswith(">") and "<" in value:
        cut = value.rindex("<")
        name, addr = value[:cut].strip(), value[cut + 1:-1].strip()
        if len(name) >= 2 and name[0] == name[-1] == '"':
            name = re.sub(r"\\(.)", r"\1", name[1:-1])
    if not _ADDR_SPEC.fullmatch(addr):
        # Non-ASCII local parts need SMTPUTF8, which we deliberately do not depend on.
        raise ValueError(f"invalid or non-ASCII email address {addr!r} in {value!r}")
    if not name:
        return addr
    if _is_plain(name) and "=?" not in name:
        if _ATEXT_PHRASE.fullmatch(name):
            return f"{name} <{addr}>"
        quoted = name.replace("\\", "\\\\").replace('"', '\\"')
        return f'"{quoted}" <{addr}>'
    # Only the words that need it are encoded: plain words between encoded ones keep
    # every decoder (including CPython's, see gh-128110) agreeing on the spaces.
    return f"{_encode_runs(name, _needs_encoding_in_phrase)} <{addr}>"


def fold_header(name: str, value: str) -> str:
    """Return 'Name: value' folded at whitespace into CRLF-terminated lines."""
    if len(name) + 2 + len(value) <= SOFT_LINE_LIMIT:
        return f"{name}: {value}\r\n"
    lines = []
    line = name + ":"
    for piece in _PIECES.findall(value):
        starts_with_space = piece[0] in " \t"
        if len(lines) == 0 and line == name + ":":
            line += piece if starts_with_space else " " + piece
        elif (starts_with_space and not piece.isspace()
              and len(line) + len(piece) > SOFT_LINE_LIMIT):
            # Fold before the whitespace: unfolding (removing CRLF) restores it exactly.
            lines.append(line)
            line = piece
        else:
            line += piece
    lines.append(line)
    for folded in lines:
        if len(folded) > HARD_LINE_LIMIT:
            raise ValueError(f"header {name} has a word too long to fold under {HARD_LINE_LIMIT}")
    return "\r\n".join(lines) + "\r\n"
