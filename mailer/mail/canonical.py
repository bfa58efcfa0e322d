"""Relaxed body canonicalisation for DKIM (RFC 6376 section 3.4.4), of a whole body or of one in parts.

Made of C-level bytes methods; relaxed header canonicalisation is in mailer/mail/dkim.py.
"""
from __future__ import annotations

import re
from collections.abc import Iterable

_SPACES = re.compile(rb"  +")  # a literal prefix: re finds it with a fast search, not step by step
# A part that ends with one of these may be joined to the next one by relaxed form: a run of
# spaces, a space before CRLF, or a CRLF may span the two.
_MAY_JOIN = (b" ", b"\t", b"\r")
CACHED_PART_BYTES = 512  # parts this long or longer are cached; a mailing's per-recipient values are shorter


def _relaxed_lines(body: bytes) -> bytes:
    """Return body with each line in relaxed form; empty lines at the end are kept."""
    # Each step only when needed: an `in` test of 15 KB costs 1-16 us, a replace more.
    # (MessageBuilder's quoted-printable never leaves a space or tab before a line end.)
    if b"\t" in body:
        body = body.replace(b"\t", b" ")
    if b"  " in body:  # HTML indentation: some 40 runs in the engine's 15 KB mail
        body = _SPACES.sub(b" ", body)  # measured as fast as split-and-join variants, and simpler
    if b" \r\n" in body:  # after squeezing, at most one space is left before a line end
        body = body.replace(b" \r\n", b"\r\n")
    return body


def relaxed_body(body: bytes) -> tuple[bytes, int]:
    """Return (body, end): body[:end] + CRLF is its relaxed form (RFC 6376 section 3.4.4), or b"" if end is 0."""
    body = _relaxed_lines(body)
    end = len(body)
    while body.endswith(b"\r\n", 0, end):  # drop empty lines at the end
        end -= 2
    return body, end


def _relaxed_part(part: bytes) -> bytes | None:
    """Return the relaxed form of a part that can be canonicalised on its own, else None."""
    # A bare LF is sent (and signed) as CRLF: DkimSigner.sign turns the whole message first.
    if part.endswith(_MAY_JOIN) or part.count(b"\n") != part.count(b"\r\n"):
        return None
    return _relaxed_lines(part)


class RelaxedParts:
    """The relaxed form of bodies given in parts, with the form of each large part cached.

    Relaxed form is local to a line: it squeezes runs of spaces and tabs and drops them before
    CRLF. So where two parts meet after any byte but SP, HTAB or CR, no run and no CRLF spans
    them, and the relaxed body is the join of the parts' relaxed forms (then empty lines at
    the end dropped). MessageBuilder's parts always meet so: quoted-printable ends no line
    with a space or tab, and the MIME lines around it end in CRLF.

    Why the cache: the engine's parts are a mailing's static HTML and text, encoded once and
    the same bytes objects in every message, with short per-recipient values between them.
    Canonicalising the whole body cost 33 - 35 us a message (the 14.8 KB of mailer/bench/dkim_sample.py;
    dkim_cost, two runs), an eighth of the 0.26 ms RSA-2048 signature; from its parts, the three
    static ones cached, 10.5 - 12 us: only the short parts between them are canonicalised.
    The cache is keyed by the part's identity, not its content: a large part that is new in
    every message (a digest's body, personalised as a whole) would otherwise cost a hash of
    its content per message, 3.5 us for 15 KB.
    """

    def __init__(self, min_bytes: int = CACHED_PART_BYTES, max_entries: int = 64,
                 max_bytes: int = 32 * 1024 * 1024) -> None:
        self._min_bytes = min_bytes
        self._max_entries = max_entries
        self._max_bytes = max_bytes  # parts and their relaxed forms, together
        self._bytes = 0
        # id(part) -> (part, its relaxed form or None if it cannot be canonicalised alone). The
        # entry holds the part, so its id is not reused while the entry is there.
        self._cache: dict[int, tuple[bytes, bytes | None]] = {}

    def __len__(self) -> int:
        return len(self._cache)

    def relaxed_pieces(self, parts: Iterable[bytes]) -> list[bytes] | None:
        """Return pieces that join to the relaxed form of b"".join(parts) without its last CRLF, or None.

        So the pieces are as relaxed_body's body[:end], and no pieces if end is 0. None if the
        parts must be canonicalised as one body: when a part ends with SP, HTAB or CR or has a bare LF.
        That happens with a hand-made body, never with the parts of a QuotedPrintableTemplate.
        Short parts next to each other are joined and canonicalised together, per call.
        """
        relaxed = []
        short: list[bytes] = []
        for part in parts:
            if len(part) < self._min_bytes:
                short.append(part)
                continue
            if short:
                form = _relaxed_part(b"".join(short))
                if form is None:
                    return None
                relaxed.append(form)
                short = []
            cached = self._cache.get(id(part))
            form = cached[1] if cached is not None and cached[0] is part else self._remember(part)
            if form is None:
                return None
            relaxed.append(form)
        if short:
            form = _relaxed_part(b"".join(short))
            if form is None:
                return None
            relaxed.append(form)
        # Not joined: hashing the pieces one by one spares a 15 KB copy, ~2.5 us a message.
        while relaxed:  # drop empty lines at the end, which may take up the last pieces
            last = relaxed[-1]
            end = len(last)
            while last.endswith(b"\r\n", 0, end):
                end -= 2
            if end:
                relaxed[-1] = last[:end]
                break
            relaxed.pop()
        return relaxed

    def _remember(self, part: bytes) -> bytes | None:
        form = _relaxed_part(part)
        size = len(part) + (len(form) if form else 0)
        if size > self._max_bytes:
            return form
        if len(self._cache) >= self._max_entries or self._bytes + size > self._max_bytes:
            # Full: start again. The parts of the mailing being sent come back with its next message.
            self._cache.clear()
            self._bytes = 0
        self._cache[id(part)] = (part, form)
        self._bytes += size
        return form
