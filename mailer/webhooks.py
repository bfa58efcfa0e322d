"""Machine-to-machine HTTP: bounce and complaint reports from the mail provider.

POST /webhooks/bounces with a JSON object or a list of them (see
mailer.subscribers.bounces.handle_bounce_event) and two headers:
`X-Mailer-Timestamp: <Unix time in whole seconds>` and
`X-Mailer-Signature: sha256=<hex HMAC-SHA256 of "<timestamp>." + the raw body, keyed with BOUNCE_WEBHOOK_SECRET>`.
A timestamp more than 5 minutes from now is refused, and so is a signature already seen (a replay):
signatures are remembered for 10 minutes in the rate limiter's storage, which every process shares
(Redis, or the instance folder's SQLite file in the embedded default).
A batch is applied whole or not at all, and a re-signed delivery of the same events changes nothing.
"""
from __future__ import annotations

import hashlib
import hmac
import json
import logging
import time

from flask import Blueprint, current_app, jsonify, request
from werkzeug.exceptions import RequestEntityTooLarge

from mailer.extensions import csrf, db, limiter
from mailer.subscribers.bounces import handle_bounce_event

log = logging.getLogger(__name__)

SIGNATURE_HEADER = "X-Mailer-Signature"
TIMESTAMP_HEADER = "X-Mailer-Timestamp"
_PREFIX = "sha256="
MAX_CLOCK_SKEW = 5 * 60  # seconds a timestamp may be from our clock, either way
REMEMBER_SIGNATURES = 2 * MAX_CLOCK_SKEW  # longer than any timestamp stays acceptable

bp = Blueprint("webhooks", __name__, url_prefix="/webhooks")
csrf.exempt(bp)  # callers prove themselves with the HMAC signature, not a session


def _error(status: int, message: str):
    return jsonify(error=message), status


def _fresh(timestamp: str | None) -> bool:
    """True for whole Unix seconds within MAX_CLOCK_SKEW of now."""
    if not timestamp or not timestamp.isascii() or not timestamp.isdigit() or len(timestamp) > 12:
        return False
    return abs(time.time() - int(timestamp)) <= MAX_CLOCK_SKEW


def _signed_by(secret: str | bytes, timestamp: str, body: bytes, header: str | None) -> bool:
    if not header or not header.startswith(_PREFIX):
        return False
    key = secret if isinstance(secret, bytes) else secret.encode("utf-8")
    expected = hmac.new(key, timestamp.encode("ascii") + b"." + body, hashlib.sha256).hexdigest().encode("ascii")
    given = header[len(_PREFIX):].strip().lower().encode("utf-8", "replace")
    return hmac.compare_digest(expected, given)


def _seen_before(signature: str) -> bool:
    """Remember a verified signature; True if it was already used within REMEMBER_SIGNATURES."""
    key = "webhook-signature:" + hashlib.sha256(signature.strip().lower().encode()).hexdigest()
    return limiter.storage.incr(key, REMEMBER_SIGNATURES) > 1


@bp.post("/bounces")
def bounces():
    """Apply a signed batch of bounce and complaint reports."""
    secret = current_app.config.get("BOUNCE_WEBHOOK_SECRET")
    if not secret:
        return _error(404, "the bounce webhook is not enabled")  # no secret, no endpoint
    try:
        body = request.get_data(cache=False)
    except RequestEntityTooLarge:
        return _error(413, "the request body is too large")
    timestamp = request.headers.get(TIMESTAMP_HEADER, "").strip()
    if not _fresh(timestamp):
        log.warning("bounce webhook: missing or stale timestamp from %s", request.remote_addr)
        return _error(403, f"missing {TIMESTAMP_HEADER} header, or more than {MAX_CLOCK_SKEW // 60} minutes off")
    signature = request.headers.get(SIGNATURE_HEADER)
    if not _signed_by(secret, timestamp, body, signature):
        log.warning("bounce webhook: missing or wrong signature from %s", request.remote_addr)
        return _error(403, f"missing or wrong {SIGNATURE_HEADER} header")
    try:
        replayed = _seen_before(signature)
    except Exception:  # noqa: BLE001 - the limiter's storage (Redis) is away: the sender retries later
        log.exception("bounce webhook: cannot check for a replay")
        return _error(503, "cannot check for a replay just now; send again later, signed afresh")
    if replayed:
        log.warning("bounce webhook: replayed signature from %s", request.remote_addr)
        return _error(409, "this signature was already used: sign each delivery with a new timestamp")
    try:
        payload = json.loads(body)
    except (ValueError, RecursionError):  # bad JSON, bad UTF-8, absurd nesting
        return _error(400, "the body is not valid JSON")
    events = payload if isinstance(payload, list) else [payload]
    results = []
    for index, event in enumerate(events):
        try:
            results.append(handle_bounce_event(event))
        except ValueError as error:
            db.session.rollback()  # all or nothing: the sender fixes the batch and sends it again
            where = f"event {index}: " if isinstance(payload, list) else ""
            return _error(400, f"{where}{error}")
    db.session.commit()
    log.info("bounce webhook: %s events applied", len(results))
    return jsonify(results=results)
