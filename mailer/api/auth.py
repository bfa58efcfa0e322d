"""Who is calling /api/v1: the bearer key (never the session cookie), its scope, its rate limit, the audit.

Each API blueprint gets these hooks through `protect`. A missing, unknown or revoked key gets 401; a
read-only key that tries to write gets 403; every write (any method but GET/HEAD/OPTIONS) is
recorded with its key, method, path and status.
"""
from __future__ import annotations

import time

from flask import Blueprint, Response, current_app, g, request

from mailer import api_keys
from mailer.api.problems import problem
from mailer.extensions import csrf, db, limiter
from mailer.models import ApiKey

READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def bearer_secret() -> str | None:
    header = request.headers.get("Authorization", "")
    scheme, _, secret = header.partition(" ")
    if scheme.lower() != "bearer" or not secret.strip():
        return None
    return secret.strip()


def current_key() -> ApiKey:
    return g.api_key


def rate_limit_key() -> str:
    """One bucket per key (by the hash of the secret, known before the key is looked up)."""
    secret = bearer_secret()
    return "api:" + (api_keys.key_hash(secret)[:24] if secret else "anonymous:" + (request.remote_addr or ""))


def _rate_limit() -> str:
    return f"{current_app.config['API_REQUESTS_PER_MINUTE']} per minute"


def _authenticate() -> Response | None:
    secret = bearer_secret()
    key = api_keys.authenticate(secret) if secret else None
    if key is None:
        return problem(401, headers={"WWW-Authenticate": 'Bearer realm="mailer"'})
    g.api_key = key
    if request.method not in READ_METHODS and not key.can_write:
        return problem(403)
    return None


def _audit(response: Response) -> Response:
    key = g.get("api_key")
    if key is not None and request.method not in READ_METHODS and response.status_code < 500:
        db.session.rollback()  # nothing half-done from the view rides along with the audit row
        api_keys.audit_write(key.id, request.method, request.path, response.status_code)
        db.session.commit()
    return response


def _rate_limit_headers(response: Response) -> Response:
    """RateLimit-Limit, -Remaining and -Reset (seconds until the window resets), as in the IETF draft."""
    current = limiter.current_limit
    if current is not None:
        response.headers["RateLimit-Limit"] = str(current.limit.amount)
        response.headers["RateLimit-Remaining"] = str(max(current.remaining, 0))
        response.headers["RateLimit-Reset"] = str(max(int(current.reset_at - time.time()), 0))
    response.headers["Cache-Control"] = "private, no-cache"
    response.headers["Vary"] = "Authorization, Accept-Language"
    return response


def protect(blueprint: Blueprint) -> None:
    """Bearer auth, scope, audit, per-key rate limit and no CSRF (no cookie is ever read) for a blueprint."""
    csrf.exempt(blueprint)
    limiter.limit(_rate_limit, key_func=rate_limit_key)(blueprint)
    blueprint.before_request(_authenticate)
    blueprint.after_request(_audit)
    blueprint.after_request(_rate_limit_headers)
