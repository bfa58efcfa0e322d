"""Signed tokens for links in mails: one salt per purpose, opaque ids only."""
from __future__ import annotations

import hashlib
import hmac
import json
import re
from dataclasses import dataclass
from functools import lru_cache
from enum import StrEnum
from typing import Any

from flask import current_app
from itsdangerous import BadSignature, SignatureExpired, URLSafeSerializer, URLSafeTimedSerializer
from itsdangerous.encoding import base64_encode
from sqlalchemy import bindparam, select
from sqlalchemy.orm import joinedload

from mailer.extensions import db
from mailer.models import Subscriber, Subscription


class TokenPurpose(StrEnum):
    CONFIRM = "confirm"
    UNSUBSCRIBE = "unsubscribe"
    MANAGE = "manage"
    BOUNCE = "bounce"  # the VERP return path of a list mail (BounceTokenSigner)
    CLICK = "click"    # a counted link in a mailing: names the mailing and the link, never a person


# The salt of the links in staff previews: signed like the real ones, but no public endpoint
# reads this purpose, so a link copied out of a preview opens nothing.
PREVIEW_PURPOSE = "preview"


class InvalidToken(Exception):
    """The token is malformed, tampered with, expired, revoked or meant for another purpose."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class TokenClaim:
    subscriber: Subscriber
    topic_ids: tuple[int, ...] | None = None
    mailing_id: int | None = None  # the mailing whose link this is (unsubscribe links in mailings)


def _keys() -> list[str]:
    # MAILER_SECRET_KEY lists keys newest first; itsdangerous wants oldest first and signs with the last.
    return list(reversed(current_app.config["SECRET_KEYS"]))


def _salt(purpose: TokenPurpose) -> str:
    return f"mailer.{purpose}"


@lru_cache(maxsize=1024)  # a mail signs two tokens for the same subscriber
def _fingerprint(token_secret: str) -> str:
    # Binds a token to the subscriber's current secret; rotating the secret revokes it.
    return hashlib.sha256(token_secret.encode()).hexdigest()[:12]


def _serializer(purpose: TokenPurpose | str) -> URLSafeSerializer | URLSafeTimedSerializer:
    if purpose is TokenPurpose.CONFIRM:
        return URLSafeTimedSerializer(_keys(), salt=_salt(purpose))
    # Unsubscribe and manage links must keep working in old mails, so they carry no expiry.
    return URLSafeSerializer(_keys(), salt=_salt(purpose))


class TokenSigner:
    """Sign many tokens of one purpose with one serializer (built once per batch of mail)."""

    def __init__(self, purpose: TokenPurpose | str) -> None:
        self._serializer = _serializer(purpose)
        self._timed = isinstance(self._serializer, URLSafeTimedSerializer)
        signer = self._serializer.make_signer()
        # Why not serializer.dumps() for every token: it derives the key again and tries zlib
        # on each call, about 40 µs a token, two tokens a mail (docs/PERFORMANCE.md). This
        # writes the same format with itsdangerous's own pieces: the compact JSON payload,
        # base64, "." and the HMAC under the once-derived key. A payload this short never
        # compresses, and loads() reads an uncompressed payload as it is.
        self._key = signer.derive_key()
        self._algorithm = signer.algorithm
        self._separator = signer.sep

    def sign(self, public_id: str, token_secret: str, topic_ids: tuple[int, ...] | None = None,
             mailing_id: int | None = None) -> str:
        payload: list[Any] = [public_id, _fingerprint(token_secret)]
        if topic_ids or mailing_id:
            payload.append(sorted(topic_ids or ()))
        if mailing_id:
            payload.append(mailing_id)
        if self._timed:
            return self._serializer.dumps(payload)
        body = base64_encode(json.dumps(payload, separators=(",", ":"), ensure_ascii=True).encode("ascii"))
        signature = base64_encode(self._algorithm.get_signature(self._key, body))
        return (body + self._separator + signature).decode("ascii")


def make_token(purpose: TokenPurpose, subscriber: Subscriber, topic_ids: tuple[int, ...] | None = None) -> str:
    """Sign a token of one purpose for a subscriber, optionally scoped to topics."""
    return TokenSigner(purpose).sign(subscriber.public_id, subscriber.token_secret, topic_ids)


# Built once: every one-click after a large send reads its reader, and building the query anew was
# a twentieth of a click's time (docs/PERFORMANCE.md). Every page a token opens reads the
# subscriptions and their topics too: one statement, not three.
_READER = select(Subscriber).where(Subscriber.public_id == bindparam("public_id"))
_READER_WITH_SUBSCRIPTIONS = _READER.options(joinedload(Subscriber.subscriptions).joinedload(Subscription.topic))


def read_token(purpose: TokenPurpose, token: str, *, with_subscriptions: bool = True) -> TokenClaim:
    """Verify a token of one purpose and return its subscriber, or raise InvalidToken.

    `with_subscriptions=False` reads the subscriber alone, for a caller that never looks at their
    subscriptions (the one-click POST, which changes them in one statement).
    """
    serializer = _serializer(purpose)
    try:
        if isinstance(serializer, URLSafeTimedSerializer):
            payload = serializer.loads(token, max_age=current_app.config["CONFIRM_TOKEN_MAX_AGE"])
        else:
            payload = serializer.loads(token)
    except SignatureExpired:
        raise InvalidToken("expired") from None
    except (BadSignature, UnicodeError, ValueError):
        raise InvalidToken("invalid") from None
    if not (isinstance(payload, list) and len(payload) in (2, 3, 4) and all(isinstance(p, str) for p in payload[:2])):
        raise InvalidToken("invalid")
    query = _READER_WITH_SUBSCRIPTIONS if with_subscriptions else _READER
    subscriber = db.session.scalars(query, {"public_id": payload[0]}).unique().first()
    if subscriber is None:
        raise InvalidToken("invalid")
    if payload[1] != _fingerprint(subscriber.token_secret):
        raise InvalidToken("revoked")
    topic_ids = None
    if len(payload) >= 3:
        if not (isinstance(payload[2], list) and all(isinstance(t, int) for t in payload[2])):
            raise InvalidToken("invalid")
        topic_ids = tuple(payload[2]) or None
    mailing_id = None
    if len(payload) == 4:
        if not (isinstance(payload[3], int) and not isinstance(payload[3], bool) and payload[3] > 0):
            raise InvalidToken("invalid")
        mailing_id = payload[3]
    return TokenClaim(subscriber, topic_ids, mailing_id)


def sign_click(mailing_id: int, link_id: int) -> str:
    """The token of a counted link: the mailing and the link, signed; nothing about the reader."""
    return URLSafeSerializer(_keys(), salt=_salt(TokenPurpose.CLICK)).dumps([mailing_id, link_id])


def read_click(token: str) -> tuple[int, int] | None:
    """Return (mailing id, link id) from a click token, or None if it is not one we signed."""
    try:
        payload = URLSafeSerializer(_keys(), salt=_salt(TokenPurpose.CLICK)).loads(token)
    except (BadSignature, UnicodeError, ValueError):
        return None
    if not (isinstance(payload, list) and len(payload) == 2
            and all(isinstance(p, int) and not isinstance(p, bool) and p > 0 for p in payload)):
        return None
    return payload[0], payload[1]


@dataclass(frozen=True)
class BounceReference:
    """What a VERP return path names: the delivery of a mailing, or the subscriber a lifecycle mail went to."""

    delivery_id: int | None = None
    subscriber_public_id: str | None = None


_BOUNCE_SIGNATURE_CHARS = 16  # 96 bits of the HMAC, base64url: guessing one is out of reach
_BOUNCE_TOKEN = re.compile(r"(d[0-9]{1,18}|s[A-Za-z0-9_-]{1,32})\.([A-Za-z0-9_-]{%d})" % _BOUNCE_SIGNATURE_CHARS)


class BounceTokenSigner:
    """Sign and read the short tokens in VERP return paths: bounces+<token>@<sender's domain>.

    A token is "d<delivery id>" or "s<subscriber public id>", ".", and the first 16
    base64url characters of itsdangerous's HMAC under the BOUNCE salt (so another purpose's
    token never passes). Only [A-Za-z0-9._-], at most 50 characters: with "bounces+" it fits
    the 64 of an RFC 5321 local part, where a full itsdangerous token (60 and more) would not.
    """

    def __init__(self) -> None:
        signer = _serializer(TokenPurpose.BOUNCE).make_signer()
        self._keys = [signer.derive_key(key) for key in signer.secret_keys]  # oldest first; signs with the last
        self._algorithm = signer.algorithm

    def _signature(self, key: bytes, payload: str) -> str:
        raw = self._algorithm.get_signature(key, payload.encode("ascii"))
        return base64_encode(raw)[:_BOUNCE_SIGNATURE_CHARS].decode("ascii")

    def _sign(self, payload: str) -> str:
        return f"{payload}.{self._signature(self._keys[-1], payload)}"

    def sign_delivery(self, delivery_id: int) -> str:
        return self._sign(f"d{delivery_id}")

    def sign_subscriber(self, public_id: str) -> str:
        return self._sign(f"s{public_id}")

    def read(self, token: str) -> BounceReference | None:
        """Return what a token names, or None if it is malformed or its signature does not match."""
        match = _BOUNCE_TOKEN.fullmatch(token)
        if match is None:
            return None
        payload, signature = match.groups()
        if not any(hmac.compare_digest(self._signature(key, payload), signature) for key in self._keys):
            return None
        if payload[0] == "d":
            return BounceReference(delivery_id=int(payload[1:]))
        return BounceReference(subscriber_public_id=payload[1:])
