"""Machine-to-machine HTTP: bounce and complaint reports from the mail provider.

POST /webhooks/bounces with a JSON object or a list of them (see
mailer.subscribers.bounces.handle_bounce_event) and the header
`X-Mailer-Signature: sha256=<hex HMAC-SHA256 of the raw body, keyed with BOUNCE_WEBHOOK_SECRET>`.
A batch is applied whole or not at all, and a replayed batch changes nothing.
"""
from __future__ import annotations

import hashlib
import hmac
import json
import logging

from flask import Blueprint, current_app, jsonify, request
from werkzeug.exceptions import RequestEntityTooLarge

from mailer.extensions import csrf, db
from mailer.subscribers.bounces import handle_bounce_event

log = logging.getLogger(__name__)

SIGNATURE_HEADER = "X-Mailer-Signature"
_PREFIX = "sha256="

bp = Blueprint("webhooks", __name__, url_prefix="/webhooks")
csrf.exempt(bp)  # callers prove themselves with the HMAC signature, not a session


def _error(status: int, message: str):
    return jsonify(error=message), status


def _signed_by(secret: str | bytes, body: bytes, header: str | None) -> bool:
    if not header or not header.startswith(_PREFIX):
        return False
    key = secret if isinstance(secret, bytes) else secret.encode("utf-8")
    expected = hmac.new(key, body, hashlib.sha256).hexdigest().encode("ascii")
    given = header[len(_PREFIX):].strip().lower().encode("utf-8", "replace")
    return hmac.compare_digest(expected, given)


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
    if not _signed_by(secret, body, request.headers.get(SIGNATURE_HEADER)):
        log.warning("bounce webhook: missing or wrong signature from %s", request.remote_addr)
        return _error(403, f"missing or wrong {SIGNATURE_HEADER} header")
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
