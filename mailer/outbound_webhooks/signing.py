"""The signature on every webhook request (docs/WEBHOOKS.md shows how a receiver checks it).

The same scheme as the incoming bounce webhook: HMAC-SHA256, keyed with the endpoint's secret, of
"<timestamp>.<body>", sent as X-Mailer-Signature: sha256=<hex>, with the Unix timestamp in
X-Mailer-Timestamp. Signing the timestamp lets a receiver refuse an old request replayed.
"""
from __future__ import annotations

import hashlib
import hmac
import secrets


def new_secret() -> str:
    """A fresh signing secret for an endpoint (256 bits)."""
    return "whsec_" + secrets.token_urlsafe(32)


def signature(secret: str, timestamp: int, body: bytes) -> str:
    """The X-Mailer-Signature value for this body sent at this Unix time."""
    digest = hmac.new(secret.encode(), str(timestamp).encode() + b"." + body, hashlib.sha256).hexdigest()
    return f"sha256={digest}"


def headers(*, secret: str, timestamp: int, body: bytes, event: str, event_id: str) -> dict[str, str]:
    """The headers of one webhook request."""
    return {
        "Content-Type": "application/json",
        "User-Agent": "mailer-webhooks/1",
        "X-Mailer-Event": event,
        "X-Mailer-Event-Id": event_id,
        "X-Mailer-Timestamp": str(timestamp),
        "X-Mailer-Signature": signature(secret, timestamp, body),
    }
