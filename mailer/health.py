"""Liveness and readiness for load balancers and compose healthchecks."""
from __future__ import annotations

from flask import Blueprint, jsonify
from sqlalchemy import text

from mailer.extensions import csrf, db

bp = Blueprint("health", __name__)
csrf.exempt(bp)


@bp.get("/healthz")
def healthz():
    """Answer 200 when the database answers."""
    try:
        db.session.execute(text("SELECT 1"))
    except Exception:  # noqa: BLE001 - any database fault means "not ready"
        return jsonify(status="database unavailable"), 503
    return jsonify(status="ok")
