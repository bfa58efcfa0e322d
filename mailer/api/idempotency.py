"""Idempotency-Key on POST: the first answer is stored with a hash of the request and replayed for a retry.

A retry with the same key and the same request gets the stored answer (with `Idempotent-Replayed: true`)
and changes nothing; the same key with a different request is refused (422); the same key while the
first request is still running gets 409. Keys are per API key and kept for IDEMPOTENCY_HOURS.
"""
from __future__ import annotations

import hashlib
from collections.abc import Callable
from datetime import timedelta
from functools import wraps

from flask import current_app, request
from flask_babel import gettext
from marshmallow import Schema, fields, validate
from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError

from mailer import clock
from mailer.api.auth import current_key
from mailer.api.problems import problem
from mailer.extensions import db
from mailer.models import ApiIdempotency

HEADER = "Idempotency-Key"
IDEMPOTENCY_HOURS = 24
IN_FLIGHT = -1  # the status of a row whose request has not answered yet


class IdempotencyHeaderSchema(Schema):
    idempotency_key = fields.String(
        data_key=HEADER, validate=validate.Length(min=1, max=255),
        metadata={"description": "Any unique string (a UUID): a retried POST with the same key is answered "
                                 "from the first try and does nothing twice"})


def _request_hash() -> str:
    digest = hashlib.sha256()
    digest.update(f"{request.method} {request.path}?{request.query_string.decode('latin-1')}\n".encode())
    digest.update(request.get_data(cache=True))
    return digest.hexdigest()


def _replay(row: ApiIdempotency):
    response = current_app.response_class(row.body, status=row.status, mimetype="application/json")
    if row.location:
        response.headers["Location"] = row.location
    response.headers["Idempotent-Replayed"] = "true"
    return response


def idempotent(view: Callable) -> Callable:
    """Wrap a POST view: with an Idempotency-Key, answer a retry from the stored first answer."""

    @wraps(view)
    def wrapped(*args, **kwargs):
        idem_key = request.headers.get(HEADER)
        if not idem_key or len(idem_key) > 255:
            return view(*args, **kwargs)
        key_id = current_key().id
        digest = _request_hash()
        db.session.execute(delete(ApiIdempotency).where(
            ApiIdempotency.created_at < clock.utcnow() - timedelta(hours=IDEMPOTENCY_HOURS)))
        row = db.session.scalar(select(ApiIdempotency).filter_by(api_key_id=key_id, idempotency_key=idem_key))
        if row is not None:
            if row.request_hash != digest:
                return problem(422, gettext("This Idempotency-Key was used for a different request."))
            if row.status == IN_FLIGHT:
                return problem(409, gettext("A request with this Idempotency-Key is still being handled."))
            return _replay(row)
        claim = ApiIdempotency(api_key_id=key_id, idempotency_key=idem_key, request_hash=digest,
                               status=IN_FLIGHT, body="")
        db.session.add(claim)
        try:
            db.session.commit()
        except IntegrityError:
            db.session.rollback()
            return problem(409, gettext("A request with this Idempotency-Key is still being handled."))
        claim_id = claim.id
        try:
            response = current_app.make_response(view(*args, **kwargs))
        except BaseException:
            db.session.rollback()
            db.session.execute(delete(ApiIdempotency).where(ApiIdempotency.id == claim_id))
            db.session.commit()
            raise
        db.session.rollback()
        if response.status_code >= 500:
            db.session.execute(delete(ApiIdempotency).where(ApiIdempotency.id == claim_id))
        else:
            stored = db.session.get(ApiIdempotency, claim_id)
            stored.status = response.status_code
            stored.body = response.get_data(as_text=True)
            stored.location = response.headers.get("Location")
        db.session.commit()
        return response

    return wrapped
