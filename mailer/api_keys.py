"""API keys: create (the secret is returned once), revoke, look up a bearer secret, audit each write.

A key is `mk_` and 43 characters of `secrets.token_urlsafe(32)`: 256 random bits. Only its SHA-256
is stored. A slow password hash (argon2) protects guessable secrets; a 256-bit random secret cannot
be guessed, so a plain SHA-256 is as safe here, and it lets every API request find its key with one
indexed look-up instead of spending ~50 ms of CPU on a password hash.
"""
from __future__ import annotations

import hashlib
import hmac
import logging
import secrets
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import select

from mailer import clock
from mailer.extensions import db
from mailer.models import ApiAudit, ApiKey, ApiScope

log = logging.getLogger(__name__)

PREFIX = "mk_"
# last_used_at is written at most this often per key, so reads do not each cost a write.
LAST_USED_RESOLUTION = timedelta(seconds=60)


@dataclass(frozen=True)
class NewKey:
    key: ApiKey
    secret: str  # shown to the admin once, never stored


def key_hash(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def create_key(name: str, scope: str, created_by_id: int | None) -> NewKey:
    """Make a key; the caller commits and shows `secret` once."""
    if scope not in set(ApiScope):
        raise ValueError(f"scope {scope!r}")
    secret = PREFIX + secrets.token_urlsafe(32)
    key = ApiKey(name=name, scope=scope, prefix=secret[:10], key_hash=key_hash(secret), created_by_id=created_by_id)
    db.session.add(key)
    db.session.flush()
    log.info("API key %s (%s) created by staff %s", key.id, scope, created_by_id)
    return NewKey(key, secret)


def revoke_key(key_id: int) -> bool:
    """Revoke a key for good; return False when it was unknown or already revoked. The caller commits."""
    key = db.session.get(ApiKey, key_id)
    if key is None or key.revoked_at is not None:
        return False
    key.revoked_at = clock.utcnow()
    log.info("API key %s revoked", key_id)
    return True


def list_keys() -> list[ApiKey]:
    return list(db.session.scalars(select(ApiKey).order_by(ApiKey.revoked_at.is_not(None), ApiKey.id.desc())))


def authenticate(secret: str) -> ApiKey | None:
    """The active key with this secret, its last use noted; None for an unknown or revoked secret."""
    if not secret.startswith(PREFIX) or len(secret) > 100:
        return None
    digest = key_hash(secret)
    key = db.session.scalar(select(ApiKey).where(ApiKey.key_hash == digest))
    if key is None or not hmac.compare_digest(key.key_hash, digest) or key.revoked_at is not None:
        return None
    now = clock.utcnow()
    if key.last_used_at is None or now - key.last_used_at >= LAST_USED_RESOLUTION:
        key.last_used_at = now
        db.session.commit()
    return key


def audit_write(key_id: int, method: str, path: str, status: int) -> None:
    """Record one write made with a key; the caller commits."""
    db.session.add(ApiAudit(api_key_id=key_id, method=method, path=path[:300], status=status))


def recent_writes(limit: int = 50) -> list[ApiAudit]:
    return list(db.session.scalars(select(ApiAudit).order_by(ApiAudit.id.desc()).limit(limit)))
