"""DKIM-sign outgoing messages (RFC 6376), with h= covering the RFC 8058 unsubscribe headers.

Speed: the RSA-2048 signature runs in OpenSSL through `cryptography`, the body hash in
OpenSSL through hashlib, and the relaxed/relaxed canonicalisation is our own, made of C-level
bytes methods: dkimpy's regex parsing and canonicalisation of a 15 KB mail (1.4 ms) cost more
than the OpenSSL signature itself (1.2 ms on the shared VM). The engine signs each message
from the parts MessageBuilder joined it from (sign_built), the relaxed form of the mailing's
static parts cached (mailer/mail/canonical.py). `python -m mailer.bench.dkim_cost`, two runs
on a 15 KB message: sign_built 0.318 - 0.319 ms, 51 - 57 us besides the RSA signature
(1.19 - 1.22 x a bare one, 1.19 and 1.30 x `openssl speed rsa2048`); sign() on the bytes
0.355 - 0.360 ms, 93 - 94 us besides it; dkimpy, with its pure-Python RSA, 23 - 24 x sign_built
(docs/PERFORMANCE.md, "DKIM signing cost"). Correctness is tested against dkimpy's
`dkim.verify`, with random headers and bodies too, and sign_built against sign, byte for byte.

The signature carries v, a, c, d, s, t, h, bh and b. t= (the signing time, as dkimpy writes
it) helps receivers and us date a message; there is no x= (no expiry). i= and q= are left
out: their defaults (@d and dns/txt) are what we mean. With a second, Ed25519 key a second
signature (RFC 8463, a=ed25519-sha256) is added below the RSA one; receivers that do not
know Ed25519 ignore it and check the RSA one.
"""
from __future__ import annotations

import hashlib
import os
import re
import time
from base64 import b64encode
from collections.abc import Mapping

from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ed25519, padding, rsa

from mailer.mail.canonical import RelaxedParts, relaxed_body
from mailer.mail.mime import BuiltMessage

# Header fields signed when present. List-Unsubscribe and List-Unsubscribe-Post must be
# covered for one-click unsubscribe to count (RFC 8058 section 4).
SIGNED_HEADERS = (
    b"from", b"to", b"subject", b"date", b"message-id", b"mime-version", b"content-type",
    b"list-id", b"list-unsubscribe", b"list-unsubscribe-post",
)
_SIGNED = frozenset(SIGNED_HEADERS)
_FIELD_START = {name: name + b":" for name in SIGNED_HEADERS}
_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?"
_DOMAIN = re.compile(rf"(?=.{{1,253}}\Z){_LABEL}(?:\.{_LABEL})+")  # at least two labels
_SELECTOR = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9_-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9_-]*[A-Za-z0-9])?)*")
MIN_KEY_BITS = 1024  # receivers (and dkimpy's verify) reject shorter keys; 2048 is the norm
_LINE = 78  # RFC 5322's recommended limit for header lines, CRLF not counted
_PKCS1 = padding.PKCS1v15()
_SHA256 = hashes.SHA256()


def _relaxed_value(value: bytes) -> bytes:
    """Return a header field value in relaxed form (RFC 6376 section 3.4.2), without CRLF."""
    value = value.replace(b"\r\n", b"").replace(b"\t", b" ")
    while b"  " in value:
        value = value.replace(b"  ", b" ")
    return value.strip(b" ")


def relaxed_headers(head: bytes) -> tuple[tuple[bytes, ...], bytes]:
    """Return the names of the SIGNED_HEADERS present in the header block, and those fields in relaxed form."""
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
    names = tuple([name for name in SIGNED_HEADERS if name in fields])
    if b"\x0b" in head or b"\x0c" in head or head.count(b"\r") != head.count(b"\r\n"):
        canonical = [_FIELD_START[name] + _relaxed_value(fields[name]) for name in names]
    else:
        # bytes.split() unfolds, squeezes and strips in one C call: 0.4 us a field instead of 2.
        # It also splits at VT, FF and lone CR or LF, which relaxed form keeps; hence the check.
        canonical = [_FIELD_START[name] + b" ".join(fields[name].split()) for name in names]
    canonical.append(b"")  # each field ends in CRLF
    return names, b"\r\n".join(canonical)


def _fold(pieces: list[tuple[bytes, bytes]], column: int) -> tuple[bytes, int]:
    """Join (separator, text) pieces, folding before a piece that would pass _LINE; return text and last column."""
    out = []
    for separator, text in pieces:
        if column + len(separator) + len(text) > _LINE and column > 1:
            out.append(b"\r\n " + text)  # the fold takes the separator's place
            column = 1 + len(text)
        else:
            out.append(separator + text)
            column += len(separator) + len(text)
    return b"".join(out), column


class _Key:
    """One signing key with its selector and algorithm tag."""

    def __init__(self, key: rsa.RSAPrivateKey | ed25519.Ed25519PrivateKey, domain: bytes, selector: bytes) -> None:
        self.key = key
        self.algorithm = b"rsa-sha256" if isinstance(key, rsa.RSAPrivateKey) else b"ed25519-sha256"
        self._fixed = [(b"", b"v=1;"), (b" ", b"a=" + self.algorithm + b";"), (b" ", b"c=relaxed/relaxed;"),
                       (b" ", b"d=" + domain + b";"), (b" ", b"s=" + selector + b";")]
        self._start: tuple[tuple[bytes, ...], int, bytes, bytes, int] = ((), -1, b"", b"", 0)

    def _folded_start(self, names: tuple[bytes, ...], now: int) -> tuple[bytes, bytes, int]:
        """Return the tags up to h= (folded, unfolded) and the column after them: the same all through a second."""
        # Made once a second, not per message: 3.4 us less a signature.
        start = self._start
        if start[0] != names or start[1] != now:
            h_tag = [(b" ", b"h=" + names[0])] + [(b"", b":" + name) for name in names[1:]]
            h_tag[-1] = (h_tag[-1][0], h_tag[-1][1] + b";")
            folded, column = _fold([*self._fixed, (b" ", b"t=%d;" % now), *h_tag], len(b"DKIM-Signature: "))
            start = self._start = (names, now, folded, folded.replace(b"\r\n", b""), column)
        return start[2], start[3], start[4]

    def signature_field(self, canonical_headers: bytes, names: tuple[bytes, ...], body_hash: bytes, now: int) -> bytes:
        """Return the folded DKIM-Signature field, CRLF included."""
        # _fold keeps no state but the column, so folding on from the cached start is folding it all.
        start, unfolded_start, column = self._folded_start(names, now)
        end, column = _fold([(b" ", b"bh=" + body_hash + b";"), (b" ", b"b=")], column)
        # Hashed last, in relaxed form, with b= empty and without CRLF (section 3.7). _fold
        # writes single spaces and folds that take a separator's place, so unfolding is enough.
        data = b"".join((canonical_headers, b"dkim-signature:", unfolded_start, end.replace(b"\r\n", b"")))
        if self.algorithm == b"rsa-sha256":
            signature = self.key.sign(data, _PKCS1, _SHA256)
        else:  # RFC 8463: Ed25519 signs the SHA-256 hash of the data
            digest = hashes.Hash(_SHA256)
            digest.update(data)
            signature = self.key.sign(digest.finalize())
        b_value = b64encode(signature)
        first = _LINE - column
        chunks = [b_value[:first]] + [b_value[at:at + _LINE - 1] for at in range(first, len(b_value), _LINE - 1)]
        return b"".join((b"DKIM-Signature: ", start, end, b"\r\n ".join(chunks), b"\r\n"))


def _load_key(pem: bytes, kind: type, what: str, label: str = "the DKIM private key"):
    """Return the private key in pem, which must be of the given kind."""
    try:
        key = serialization.load_pem_private_key(pem, password=None)
    except (ValueError, TypeError, UnsupportedAlgorithm) as error:
        raise ValueError(f"{label} is not {what} key in PEM form: {error}") from None
    if not isinstance(key, kind):
        raise ValueError(f"{label} is not {what} key in PEM form: it is {type(key).__name__}")
    return key


def _load_rsa_key(pem: bytes, label: str = "the DKIM private key") -> rsa.RSAPrivateKey:
    key = _load_key(pem, rsa.RSAPrivateKey, "an RSA", label)
    if key.key_size < MIN_KEY_BITS:
        raise ValueError(f"{label} has {key.key_size} bits; use at least {MIN_KEY_BITS} (2048 recommended)")
    return key


class DkimSigner:
    """Sign messages for one domain with one RSA key and, optionally, one Ed25519 key."""

    def __init__(self, *, domain: str, selector: str, private_key_pem: bytes,
                 ed25519_private_key_pem: bytes | None = None, ed25519_selector: str | None = None,
                 next_private_key_pem: bytes | None = None, next_selector: str | None = None) -> None:
        """Check the domain, selectors and keys now, so a bad setup fails at start, not per message.

        A next key and selector (a key rollover, while DNS changes) add a second RSA signature,
        so mail verifies whichever of the two TXT records a receiver sees.
        """
        if not _DOMAIN.fullmatch(domain):
            raise ValueError(f"invalid DKIM signing domain {domain!r}")
        for name in (selector, ed25519_selector, next_selector):
            if name is not None and not _SELECTOR.fullmatch(name):
                raise ValueError(f"invalid DKIM selector {name!r}")
        if (ed25519_private_key_pem is None) != (ed25519_selector is None):
            raise ValueError("an Ed25519 DKIM key needs both ed25519_private_key_pem and ed25519_selector")
        if (next_private_key_pem is None) != (next_selector is None):
            raise ValueError("a next DKIM key needs both next_private_key_pem and next_selector")
        if next_selector is not None and next_selector in (selector, ed25519_selector):
            raise ValueError(f"the next DKIM selector must differ from the current ones, got {next_selector!r}")
        self.domain = domain.lower()
        self.selector = selector
        domain_bytes = self.domain.encode("ascii")
        self._keys = [_Key(_load_rsa_key(private_key_pem), domain_bytes, selector.encode("ascii"))]
        if next_private_key_pem is not None:
            next_key = _load_rsa_key(next_private_key_pem, "the next DKIM private key")
            self._keys.append(_Key(next_key, domain_bytes, next_selector.encode("ascii")))
        if ed25519_private_key_pem is not None:
            ed_key = _load_key(ed25519_private_key_pem, ed25519.Ed25519PrivateKey, "an Ed25519",
                               "the second (Ed25519) DKIM private key")
            # Below the RSA one: tools that check only the first signature (dkimpy's
            # dkimverify, docs/DEPLOYMENT.md) then check the one every receiver knows.
            self._keys.append(_Key(ed_key, domain_bytes, ed25519_selector.encode("ascii")))
        self._body_parts = RelaxedParts()

    def sign(self, message: bytes) -> bytes:
        """Return the message with CRLF line ends and DKIM-Signature header field(s) prepended."""
        # A bare LF (a hand-made EncodedText can bring one) is a line end to receivers and
        # to dkimpy: send and sign CRLF only. The two counts cost ~3% of the RSA signature.
        if message.count(b"\n") != message.count(b"\r\n"):
            message = message.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")
        if message.startswith(b"\r\n"):
            head, body = b"", message[2:]
        else:
            head, blank, body = message.partition(b"\r\n\r\n")
            if not blank and head.endswith(b"\r\n"):  # headers only, no body
                head = head[:-2]
        names, canonical = relaxed_headers(head)
        body, end = relaxed_body(body)
        return self._signatures(canonical, names, [memoryview(body)[:end]] if end else []) + message

    def sign_built(self, message: BuiltMessage) -> bytes:
        """Return sign(message.data), made from the message's parts: the engine's path.

        The relaxed form of the large parts, the same in every message of a mailing, is cached
        (RelaxedParts). A message whose parts cannot be canonicalised one by one is signed from its bytes.
        """
        head = message.head
        relaxed = self._body_parts.relaxed_pieces(message.body_parts) if message.body_parts else None
        if (relaxed is None or not head.endswith(b"\r\n") or b"\r\n\r\n" in head
                or head.count(b"\n") != head.count(b"\r\n")):
            return self.sign(message.data)
        names, canonical = relaxed_headers(head[:-2])
        return self._signatures(canonical, names, relaxed) + message.data

    def _signatures(self, canonical_headers: bytes, names: tuple[bytes, ...],
                    body: list[bytes | memoryview]) -> bytes:
        """Return the DKIM-Signature field(s) for the relaxed header fields and body (pieces, last CRLF left out)."""
        # hashlib's SHA-256 is OpenSSL's too, with less overhead per call: 0.9 us less for 15 KB.
        digest = hashlib.sha256()
        for piece in body:
            digest.update(piece)
        if body:
            digest.update(b"\r\n")
        body_hash = b64encode(digest.digest())
        now = int(time.time())
        return b"".join([key.signature_field(canonical_headers, names, body_hash, now) for key in self._keys])


def _read_key_file(name: str, path: str) -> bytes:
    try:
        with open(path, "rb") as file:
            return file.read()
    except OSError as error:
        raise ValueError(f"cannot read the DKIM key {name}={path}: {error.strerror}") from None


def dkim_signer_from_env(environ: Mapping[str, str] = os.environ) -> DkimSigner | None:
    """Return a signer from MAILER_DKIM_KEY_FILE, _SELECTOR and _DOMAIN, or None if DKIM is off.

    MAILER_DKIM_ED25519_KEY_FILE and MAILER_DKIM_ED25519_SELECTOR, both or neither, add an
    Ed25519 signature beside the RSA one (they need the RSA key: not every receiver knows Ed25519).
    MAILER_DKIM_NEXT_KEY_FILE and MAILER_DKIM_NEXT_SELECTOR, both or neither, add a signature by the
    next RSA key during a rollover.
    """
    names = ("MAILER_DKIM_KEY_FILE", "MAILER_DKIM_SELECTOR", "MAILER_DKIM_DOMAIN")
    ed_names = ("MAILER_DKIM_ED25519_KEY_FILE", "MAILER_DKIM_ED25519_SELECTOR")
    next_names = ("MAILER_DKIM_NEXT_KEY_FILE", "MAILER_DKIM_NEXT_SELECTOR")
    values = {name: (environ.get(name) or "").strip() for name in names + ed_names + next_names}
    if not any(values.values()):
        return None
    missing = [name for name in names if not values[name]]
    if missing:
        raise ValueError(f"DKIM is half configured: set {', '.join(missing)} too "
                         f"(or unset all of {', '.join(names)} to send unsigned)")
    for pair, what in ((ed_names, "the Ed25519 DKIM key"), (next_names, "the next DKIM key")):
        if bool(values[pair[0]]) != bool(values[pair[1]]):
            raise ValueError(f"{what} is half configured: set both {' and '.join(pair)}, or neither")

    def key_file(name: str) -> bytes | None:
        return _read_key_file(name, values[name]) if values[name] else None

    pem = key_file("MAILER_DKIM_KEY_FILE")
    ed_pem, next_pem = key_file(ed_names[0]), key_file(next_names[0])
    try:
        return DkimSigner(domain=values["MAILER_DKIM_DOMAIN"], selector=values["MAILER_DKIM_SELECTOR"],
                          private_key_pem=pem, ed25519_private_key_pem=ed_pem,
                          ed25519_selector=values[ed_names[1]] or None,
                          next_private_key_pem=next_pem, next_selector=values[next_names[1]] or None)
    except ValueError as error:
        raise ValueError(f"DKIM settings (MAILER_DKIM_*): {error}") from None
