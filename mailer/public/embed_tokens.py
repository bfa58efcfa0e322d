"""Form tokens of the embedded signup form: signed, time-stamped and bound to the site that fetched them.

The embedded form fetches one when it loads (GET /embed/token) and sends it back with the signup.
It stands in for the CSRF token our own form carries in a cookie-bound session, which a page on
another site cannot have: a valid token proves the form was loaded on an allowed site a little
while ago, and its age also stands in for our form's minimum fill-in time.
"""
from __future__ import annotations

import time
from enum import Enum

from flask import current_app
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

SALT = "mailer.embed-form"


class TokenVerdict(Enum):
    VALID = "valid"
    TOO_FAST = "too_fast"   # sent back sooner than a person fills in a form: a bot, answered like a person
    EXPIRED = "expired"     # older than EMBED_TOKEN_MAX_AGE: the visitor reloads the page
    INVALID = "invalid"     # missing, forged, or fetched by another site


def _serializer() -> URLSafeTimedSerializer:
    # MAILER_SECRET_KEY lists keys newest first; itsdangerous signs with the last and verifies with all.
    return URLSafeTimedSerializer(list(reversed(current_app.config["SECRET_KEYS"])), salt=SALT)


def issue(origin: str) -> str:
    """A token for a form shown on this origin (scheme://host[:port])."""
    return _serializer().dumps({"origin": origin})


def check(token: str | None, origin: str) -> TokenVerdict:
    """Say whether a token sent back from this origin is valid, too fresh, expired or invalid."""
    try:
        data, signed_at = _serializer().loads(token or "", max_age=current_app.config["EMBED_TOKEN_MAX_AGE"],
                                              return_timestamp=True)
    except SignatureExpired:
        return TokenVerdict.EXPIRED
    except BadSignature:
        return TokenVerdict.INVALID
    if not isinstance(data, dict) or data.get("origin") != origin:
        return TokenVerdict.INVALID
    if time.time() - signed_at.timestamp() < current_app.config["MIN_FORM_SECONDS"]:
        return TokenVerdict.TOO_FAST
    return TokenVerdict.VALID
