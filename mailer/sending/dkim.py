"""DKIM-sign outgoing messages (RFC 6376), with h= covering the RFC 8058 unsubscribe headers.

Speed: the RSA-2048 signature and the hashes run in OpenSSL through `cryptography`; the
relaxed/relaxed canonicalisation is our own, made of C-level bytes methods, because dkimpy's
regex canonicalisation alone cost about twice the RSA signature (docs/PERFORMANCE.md, "DKIM
signing cost"; measure with `python -m mailer.bench.dkim_cost`). Correctness is tested
against dkimpy's `dkim.verify`, including random headers and bodies.

The signature carries v, a, c, d, s, t, h, bh and b. t= (the signing time, as dkimpy writes
it) helps receivers and us date a message; there is no x= (no expiry). i= and q= are left
out: their defaults (@d and dns/txt) are what we mean. With a second, Ed25519 key a second
signature (RFC 8463, a=ed25519-sha256) is added above the RSA one; receivers that do not
know Ed25519 ignore it and check the RSA one.
"""
from __future__ import annotations

import os
import re
import time
from base64 import b64encode
from collections.abc import Mapping

from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ed25519, padding, rsa

# Header fields signed when present. List-Unsubscribe and List-Unsubscribe-Post must be
# covered for one-click unsubscribe to count (RFC 8058 section 4).
SIGNED_HEADERS = (
    b"from", b"to", b"subject", b"date", b"message-id", b"mime-version", b"content-type",
    b"list-id", b"list-unsubscribe", b"list-unsubscribe-post",
)
_SIGNED = frozenset(SIGNED_HEADERS)
_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?"
_DOMAIN = re.compile(rf"(?=.{{1,253}}\Z){_LABEL}(?:\.{_LABEL})+")  # at least two labels
_SELECTOR = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9_-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9_-]*[A-Za-z0-9])?)*")
MIN_KEY_BITS = 1024  # receivers (and dkimpy's verify) reject shorter keys; 2048 is the norm
_LINE = 78  # RFC 5322's recommended limit for header lines, CRLF not counted
_PKCS1 = padding.PKCS1v15()
_SHA256 = hashes.SHA256()


def _relaxed_value(value: bytes) -> bytes:
    """Return a header field value in relaxed form (RFC 6376 section 3.4.2), without CRLF."""
    if b"\r\n" in value:
        value = value.replace(b"\r\n", b"")
    if b"\t" in value:
        value = value.replace(b"\t", b" ")
    while b"  " in value:  # header values are short: a few passes cost less than a regex
        value = value.replace(b"  ", b" ")
    return value.strip(b" ")


def _squeeze_spaces(body: bytes) -> bytes:
    """Replace every run of two or more spaces with one space."""
    # Why not re.sub(rb"  +", b" ", ...): on a 17 KB mail whose HTML is indented it took
    # 78 us, this 10-15 us. split() takes the first two spaces of a run as a separator,
    # leaving empty parts inside a run and, after a run of odd length, one leading space.
    parts = body.split(b"  ")
    rest = [part[1:] if part[:1] == b" " else part for part in parts[1:]]
    # Empty parts between two separators are inside one run; keep the first and last part.
    return b" ".join([parts[0], *[part for part in rest[:-1] if part], rest[-1]])


def relaxed_body(body: bytes) -> tuple[bytes, int]:
    """Return (body, end): body[:end] + CRLF is its relaxed form (RFC 6376 section 3.4.4), or b"" if end is 0."""
    # Fast path first: MessageBuilder's quoted-printable and base64 parts have no tabs and no
    # space before a line end, and a `in` test of 17 KB costs a few microseconds.
    if b"\t" in body:
        body = body.replace(b"\t", b" ")
    if b"  " in body:
        body = _squeeze_spaces(body)
    if b" \r\n" in body:  # after squeezing, at most one space is left before a line end
        body = body.replace(b" \r\n", b"\r\n")
    end = len(body)
    while body.endswith(b"\r\n", 0, end):  # drop empty lines at the end
        end -= 2
    return body, end


def _fold(pieces: list[tuple[bytes, bytes]], column: int) -> tuple[list[bytes], int]:
    """Lay out (separator, text) pieces in lines of at most _LINE characters; return lines and last column."""
    lines, line = [], b""
    for separator, text in pieces:
        if line and column + len(separator) + len(text) > _LINE:
            lines.append(line)
            line, column = b" " + text, 1 + len(text)  # the fold replaces the separator
        else:
            line += separator + text
            column += len(separator) + len(text)
    lines.append(line)
    return lines, column


class _Key:
    """One signing key with its selector and algorithm tag."""

    def __init__(self, key: rsa.RSAPrivateKey | ed25519.Ed25519PrivateKey, domain: bytes, selector: bytes) -> None:
        self.key = key
        self.algorithm = b"rsa-sha256" if isinstance(key, rsa.RSAPrivateKey) else b"ed25519-sha256"
        self.fixed = [(b"", b"v=1;"), (b" ", b"a=" + self.algorithm + b";"), (b" ", b"c=relaxed/relaxed;"),
                      (b" ", b"d=" + domain + b";"), (b" ", b"s=" + selector + b";")]

    def signature_field(self, canonical_headers: bytes, names: list[bytes], body_hash: bytes, now: int) -> bytes:
        """Return the folded DKIM-Signature field, CRLF included."""
        h_tag = [(b" ", b"h=" + names[0])] + [(b"", b":" + name) for name in names[1:]]
        pieces = [*self.fixed, (b" ", b"t=%d;" % now), *h_tag[:-1], (h_tag[-1][0], h_tag[-1][1] + b";"),
                  (b" ", b"bh=" + body_hash + b";"), (b" ", b"b=")]
        lines, column = _fold(pieces, len(b"DKIM-Signature: "))
        unsigned = b"\r\n".join(lines)
        # The field is hashed last, in relaxed form, with b= empty and without CRLF (section 3.7).
        data = canonical_headers + b"dkim-signature:" + _relaxed_value(unsigned)
        if self.algorithm == b"rsa-sha256":
            signature = self.key.sign(data, _PKCS1, _SHA256)
        else:  # RFC 8463: Ed25519 signs the SHA-256 hash of the data
            digest = hashes.Hash(_SHA256)
            digest.update(data)
            signature = self.key.sign(digest.finalize())
        b_value = b64encode(signature)
        chunks, start = [], _LINE - column
        chunks.append(b_value[:start])
        for at in range(start, len(b_value), _LINE - 1):
            chunks.append(b_value[at:at + _LINE - 1])
        return b"DKIM-Signature: " + unsigned + b"\r\n ".join(chunks) + b"\r\n"


def _load_key(pem: bytes, kind: type, what: str):
    try:
        key = serialization.load_pem_private_key(pem, password=None)
    except (ValueError, TypeError, UnsupportedAlgorithm) as error:
        raise ValueError(f"the DKIM private key is not {what} key in PEM form: {error}") from None
    if not isinstance(key, kind):
        raise ValueError(f"the DKIM private key is not {what} key in PEM form: it is {type(key).__name__}")
    return key


class DkimSigner:
    """Sign messages for one domain with one RSA key and, optionally, one Ed25519 key."""

    def __init__(self, *, domain: str, selector: str, private_key_pem: bytes,
                 ed25519_private_key_pem: bytes | None = None, ed25519_selector: str | None = None) -> None:
        """Check the domain, selectors and keys now, so a bad setup fails at start, not per message."""
        if not _DOMAIN.fullmatch(domain):
            raise ValueError(f"invalid DKIM signing domain {domain!r}")
        for name in (selector, ed25519_selector):
            if name is not None and not _SELECTOR.fullmatch(name):
                raise ValueError(f"invalid DKIM selector {name!r}")
        if (ed25519_private_key_pem is None) != (ed25519_selector is None):
            raise ValueError("an Ed25519 DKIM key needs both ed25519_private_key_pem and ed25519_selector")
        key = _load_key(private_key_pem, rsa.RSAPrivateKey, "an RSA")
        if key.key_size < MIN_KEY_BITS:
            raise ValueError(f"the DKIM key has {key.key_size} bits; use at least {MIN_KEY_BITS} (2048 recommended)")
        self.domain = domain.lower()
        self.selector = selector
        domain_bytes = self.domain.encode("ascii")
        self._keys = [_Key(key, domain_bytes, selector.encode("ascii"))]
        if ed25519_private_key_pem is not None:
            ed_key = _load_key(ed25519_private_key_pem, ed25519.Ed25519PrivateKey, "an Ed25519")
            self._keys.insert(0, _Key(ed_key, domain_bytes, ed25519_selector.encode("ascii")))

    def sign(self, message: bytes) -> bytes:
        """Return the message with CRLF line ends and DKIM-Signature header field(s) prepended."""
        # A bare LF is a line end to receivers (and to dkimpy) but would travel as data:
        # send and sign CRLF only. Counting costs ~5% of the RSA signature; kept for safety.
        if message.count(b"\n") != message.count(b"\r\n"):
            message = message.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")
        if message.startswith(b"\r\n"):
            head, body = b"", message[2:]
        else:
            head, blank, body = message.partition(b"\r\n\r\n")
            if not blank and head.endswith(b"\r\n"):  # headers only, no body
                head = head[:-2]
        fields: dict[bytes, bytes] = {}  # the last instance of each signed field, as verifiers pick it
        name = None
        for line in head.split(b"\r\n") if head else ():
            if line[:1] in (b" ", b"\t"):
                if name in _SIGNED:
                    fields[name] += b"\r\n" + line
                continue
            raw_name, colon, value = line.partition(b":")
            if not colon:
                raise ValueError(f"cannot DKIM-sign: malformed header line {line[:80]!r}")
            name = raw_name.rstrip(b" \t").lower()
            if name in _SIGNED:
                fields[name] = value
        if b"from" not in fields:
            raise ValueError("cannot DKIM-sign a message without a From header field")
        names = [name for name in SIGNED_HEADERS if name in fields]
        canonical = b"".join(name + b":" + _relaxed_value(fields[name]) + b"\r\n" for name in names)
        body, end = relaxed_body(body)
        digest = hashes.Hash(_SHA256)
        if end:
            digest.update(memoryview(body)[:end])
            digest.update(b"\r\n")
        body_hash = b64encode(digest.finalize())
        now = int(time.time())
        signatures = [key.signature_field(canonical, names, body_hash, now) for key in self._keys]
        return b"".join(signatures) + message


def dkim_signer_from_env(environ: Mapping[str, str] = os.environ) -> DkimSigner | None:
    """Return a signer from MAILER_DKIM_KEY_FILE, _SELECTOR and _DOMAIN, or None if DKIM is off."""
    names = ("MAILER_DKIM_KEY_FILE", "MAILER_DKIM_SELECTOR", "MAILER_DKIM_DOMAIN")
    values = {name: (environ.get(name) or "").strip() for name in names}
    if not any(values.values()):
        return None
    missing = [name for name in names if not values[name]]
    if missing:
        raise ValueError(f"DKIM is half configured: set {', '.join(missing)} too "
                         f"(or unset all of {', '.join(names)} to send unsigned)")
    path = values["MAILER_DKIM_KEY_FILE"]
    try:
        with open(path, "rb") as file:
            pem = file.read()
    except OSError as error:
        raise ValueError(f"cannot read the DKIM key MAILER_DKIM_KEY_FILE={path}: {error.strerror}") from None
    try:
        return DkimSigner(domain=values["MAILER_DKIM_DOMAIN"], selector=values["MAILER_DKIM_SELECTOR"],
                          private_key_pem=pem)
    except ValueError as error:
        raise ValueError(f"DKIM settings (MAILER_DKIM_*): {error}") from None
