"""Build RFC 5322 multipart messages as bytes, fast.

Why not email.message.EmailMessage: building a multipart message with it and calling
as_bytes() runs at about 420 messages/s per core (see docs/PERFORMANCE.md), which caps a
whole mailing far below what SMTP can take. Assembling the bytes directly, with the C
quoted-printable encoder (binascii.b2a_qp) and with every part that never changes encoded
once per MessageBuilder, runs at well over 10,000 messages/s. Correctness is kept by the
tests, which parse every shape of message back with the stdlib parser and require zero
defects.

Round trip: body text and HTML come back from the parser exactly, except that line
endings are CRLF on the wire (and so in EmailMessage.get_content()); CR and CRLF in the
input are normalised first. No trailing newline is added or removed.
"""
from __future__ import annotations

import base64
import binascii
import functools
import re
import random
import secrets
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from email.utils import encode_rfc2231, format_datetime

from mailer.mail.headers import (
    check_header_name, check_header_value, encode_unstructured, fold_header, format_address,
)

# Fields the builder writes itself; letting callers add them would duplicate them.
_RESERVED = frozenset({
    "from", "to", "subject", "date", "message-id", "mime-version",
    "content-type", "content-transfer-encoding", "content-disposition",
})
_DOMAIN = re.compile(r"[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*")
_CONTENT_TYPE = re.compile(r"[A-Za-z0-9!#$&^_.+-]+/[A-Za-z0-9!#$&^_.+-]+(?:\s*;.*)?")
_SAFE_FILENAME = re.compile(r"[A-Za-z0-9 !#$%&'()*+,./:;<=>?@\[\]^_`{|}~-]+")
_QP_LIMIT = 76  # RFC 2045 line limit for quoted-printable, soft-break "=" included

_PLAIN_HEADERS = b"Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n"
_HTML_HEADERS = b"Content-Type: text/html; charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n"


@dataclass(frozen=True)
class Attachment:
    filename: str
    content_type: str  # e.g. "text/calendar; method=PUBLISH"
    data: bytes


@dataclass(frozen=True)
class BuiltMessage:
    message_id: str  # "<random@domain>", angle brackets included
    data: bytes  # the whole RFC 5322 message, CRLF line endings
    head: bytes = b""  # its header fields, each ending in CRLF: data is head + CRLF + the body
    # The body as the pieces it was joined from, the static ones the same objects in every
    # message of a mailing: DkimSigner.sign_built canonicalises those once. Empty: not known.
    body_parts: tuple[bytes, ...] = ()


def _protect_start(line: bytes) -> bytes:
    if line.startswith((b".", b"From ")):
        return (b"=2E" if line[0] == 0x2E else b"=46") + line[1:]
    return line


def _fix_line(line: bytes) -> bytes:
    """Encode a leading '.' or 'F' of a QP line and wrap it again if it is longer than 76."""
    line = _protect_start(line)
    out = []
    while len(line) > _QP_LIMIT:
        cut = _QP_LIMIT - 1
        # Never cut through an "=XX" escape: "=" only ever starts escapes in QP output.
        if line[cut - 1] == 0x3D:
            cut -= 1
        elif line[cut - 2] == 0x3D:
            cut -= 2
        out.append(line[:cut] + b"=")
        line = _protect_start(line[cut:])
    out.append(line)
    return b"\n".join(out)


def encode_quoted_printable(text: str) -> bytes:
    """Return text as UTF-8 quoted-printable with CRLF line endings."""
    if "\r" in text:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    encoded = binascii.b2a_qp(text.encode("utf-8"), quotetabs=False, istext=True, header=False)
    # b2a_qp leaves "." and "From " at line starts alone; encode them so the body survives
    # transports that do not dot-stuff and mbox files that mangle "From " lines. It also
    # writes 77-78 character lines when it encodes whitespace before a line break.
    # (Plain bytes searches: a MULTILINE regex here costs as much as the encoding itself.)
    if (encoded.startswith((b".", b"From ")) or b"\n." in encoded or b"\nFrom " in encoded
            or b"=20\n" in encoded or b"=09\n" in encoded):
        encoded = b"\n".join(
            _fix_line(line) if len(line) > _QP_LIMIT or line.startswith((b".", b"From ")) else line
            for line in encoded.split(b"\n"))
    return encoded.replace(b"\n", b"\r\n")


_SOFT_BREAK = b"=\r\n"


# Kept: in a mailing many values repeat from message to message (the footer of each frequency,
# the greeting of readers without a name, the empty name), and encoding them again was a fifth
# of preparing a message (53 instead of 66 µs a message with the cache; docs/PERFORMANCE.md).
@functools.lru_cache(maxsize=256)
def _encode_piece(text: str) -> bytes:
    """QP-encode a piece of a longer text so that a soft line break may follow it.

    Its last line is kept under 76 characters, leaving room for the "=" of the break.
    """
    encoded = encode_quoted_printable(text)
    start = encoded.rfind(b"\n") + 1
    last = encoded[start:]
    if len(last) < _QP_LIMIT:
        return encoded
    cut = _QP_LIMIT - 2
    if last[cut - 1] == 0x3D:  # never cut through an "=XX" escape
        cut -= 1
    elif last[cut - 2] == 0x3D:
        cut -= 2
    return encoded[:start] + last[:cut] + _SOFT_BREAK + _fix_line(last[cut:])


@dataclass(frozen=True)
class EncodedText:
    """A body already in quoted-printable with CRLF line ends, ready for MessageBuilder."""

    data: bytes
    parts: tuple[bytes, ...] = ()  # if given, the pieces data is joined from (MessageBuilder uses them)


class QuotedPrintableTemplate:
    """A text made of static pieces and per-message fields; the static pieces are encoded once.

    Why: a mailing sends the same ~25 KB of HTML and text to every recipient with a few
    personal values (name, links) in between. Encoding all of it per message cost more than
    the rest of building and sending together (docs/PERFORMANCE.md). Quoted-printable
    allows a soft line break ("=" CRLF) anywhere, so each piece is encoded on its own and
    the pieces are joined with soft breaks: the decoded text is exactly the filled-in text.
    """

    def __init__(self, pieces: Sequence[str]) -> None:
        """`pieces` alternate: static text, field name, static text, ..., static text."""
        if len(pieces) % 2 != 1:
            raise ValueError("pieces must alternate static text and field names, starting and ending with text")
        self._static = [_encode_piece(piece) for piece in pieces[0::2]]
        self._fields = tuple(pieces[1::2])

    def fill(self, values: Mapping[str, str]) -> EncodedText:
        """Return the encoded text with each field replaced by its value."""
        parts = [self._static[0]]
        for field, static in zip(self._fields, self._static[1:]):
            parts.append(_encode_piece(values[field]))
            parts.append(static)
        out = []
        for part in parts:
            if not part:
                continue
            if out and not out[-1].endswith(b"\n"):
                out.append(_SOFT_BREAK)
            out.append(part)
        return EncodedText(b"".join(out), tuple(out))


def _encoded_parts(text: str | EncodedText) -> tuple[bytes, ...]:
    if isinstance(text, EncodedText):
        return text.parts or (text.data,)
    return (encode_quoted_printable(text),)


def _attachment_part(attachment: Attachment) -> bytes:
    content_type = check_header_value(attachment.content_type).strip()
    if not (content_type.isascii() and _CONTENT_TYPE.fullmatch(content_type)):
        raise ValueError(f"invalid attachment content type {attachment.content_type!r}")
    filename = check_header_value(attachment.filename)
    if _SAFE_FILENAME.fullmatch(filename):  # no quote or backslash: quote as is
        disposition = f'attachment; filename="{filename}"'
    else:
        # RFC 2231 parameter encoding: the standard way to carry a non-ASCII file name.
        disposition = "attachment; filename*=" + encode_rfc2231(filename, "utf-8")
    headers = (fold_header("Content-Type", content_type)
               + "Content-Transfer-Encoding: base64\r\n"
               + fold_header("Content-Disposition", disposition) + "\r\n")
    body = base64.encodebytes(attachment.data).replace(b"\n", b"\r\n")
    return headers.encode("ascii") + body


def _boundary(random_bits: Callable[[int], int]) -> str:
    # "=_" can occur neither in quoted-printable ("=" starts hex escapes or soft breaks)
    # nor in base64 ("=" is only trailing padding), so no body line can match it.
    return f"=_{random_bits(96):024x}"


_MESSAGE_ID_LOCAL = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,100}")


class MessageBuilder:
    """Build many messages from one sender; encode the parts that never change once."""

    def __init__(self, *, sender: str, message_id_domain: str,
                 static_headers: Mapping[str, str] | None = None) -> None:
        """Validate and pre-encode the sender and the static headers."""
        check_header_value(message_id_domain)
        if not _DOMAIN.fullmatch(message_id_domain):
            raise ValueError(f"invalid Message-ID domain {message_id_domain!r}")
        self._message_id_domain = message_id_domain
        self._from = fold_header("From", format_address(sender)).encode("ascii")
        self._static = _encode_headers(static_headers or {})
        self._date_cache: tuple[int, bytes] = (-1, b"")
        self._subject_cache: dict[str, bytes] = {}  # a mailing has one subject (per language)
        self._attachment_cache: dict[Attachment, bytes] = {}  # and the same attachments for everyone
        # Message-IDs and boundaries need to be unique, not secret. os.urandom costs ~100 µs a
        # call on this kind of machine, two calls a message (docs/PERFORMANCE.md), so a
        # generator seeded once from it makes them; each builder (and process) has its own seed.
        self._random_bits = random.Random(secrets.token_bytes(32)).getrandbits

    def message_id_for(self, local_part: str) -> str:
        """Return the Message-ID <local_part@domain>; local_part must be letters, digits, '.', '-' or '_'."""
        if not _MESSAGE_ID_LOCAL.fullmatch(local_part):
            raise ValueError(f"invalid Message-ID local part {local_part!r}")
        return f"<{local_part}@{self._message_id_domain}>"

    def _date(self) -> bytes:
        # Formatting a date costs more than the rest of the headers; it changes once a second.
        now = int(time.time())
        second, header = self._date_cache
        if second != now:
            stamp = format_datetime(datetime.fromtimestamp(now, timezone.utc))
            header = f"Date: {stamp}\r\n".encode("ascii")
            self._date_cache = (now, header)
        return header

    def build(self, *, to: str, subject: str, text: str | EncodedText, html: str | EncodedText,
              headers: Mapping[str, str] | None = None,
              attachments: Sequence[Attachment] = (), message_id: str | None = None) -> BuiltMessage:
        """Return one complete message addressed to `to`; text and html may come pre-encoded.

        `message_id` (from message_id_for) gives a resent message the same Message-ID as before;
        without it a fresh random one is made.
        """
        if message_id is None:
            message_id = f"<{self._random_bits(128):032x}@{self._message_id_domain}>"
        subject_field = self._subject_cache.get(subject)
        if subject_field is None:
            subject_field = fold_header("Subject", encode_unstructured(check_header_value(subject))).encode("ascii")
            if len(self._subject_cache) < 64:
                self._subject_cache[subject] = subject_field
        to_and_subject = fold_header("To", format_address(to)).encode("ascii") + subject_field
        alternative = _boundary(self._random_bits).encode()
        body = [b"--", alternative, b"\r\n", _PLAIN_HEADERS, *_encoded_parts(text),
                b"\r\n--", alternative, b"\r\n", _HTML_HEADERS, *_encoded_parts(html),
                b"\r\n--", alternative, b"--\r\n"]
        content_type = b'Content-Type: multipart/alternative; boundary="' + alternative + b'"\r\n'
        if attachments:
            mixed = _boundary(self._random_bits).encode()
            body = [b"--", mixed, b"\r\n", content_type, b"\r\n", *body]
            for attachment in attachments:
                body += [b"--", mixed, b"\r\n", self._attachment_part(attachment)]
            body += [b"--", mixed, b"--\r\n"]
            content_type = b'Content-Type: multipart/mixed; boundary="' + mixed + b'"\r\n'
        head = b"".join((
            self._from, to_and_subject, self._date(),
            b"Message-ID: ", message_id.encode("ascii"), b"\r\nMIME-Version: 1.0\r\n",
            self._static, _encode_headers(headers) if headers else b"", content_type,
        ))
        return BuiltMessage(message_id=message_id, data=b"".join([head, b"\r\n", *body]), head=head,
                            body_parts=tuple(body))

    def _attachment_part(self, attachment: Attachment) -> bytes:
        """The attachment's MIME part, encoded once: the same bytes object for every message."""
        part = self._attachment_cache.get(attachment)
        if part is None:
            part = _attachment_part(attachment)
            if len(self._attachment_cache) < 16:
                self._attachment_cache[attachment] = part
        return part


def _encode_headers(headers: Mapping[str, str]) -> bytes:
    """Return the folded, RFC 2047-encoded block for extra header fields."""
    lines = []
    for name, value in headers.items():
        check_header_name(name)
        if name.lower() in _RESERVED:
            raise ValueError(f"header {name} is set by MessageBuilder itself")
        lines.append(fold_header(name, encode_unstructured(check_header_value(value), text=False)))
    return "".join(lines).encode("ascii")
