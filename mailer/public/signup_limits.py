"""The per-IP and per-address limits on signups, stated once and shared by every signup route.

The signup form (/subscribe) and the embedded form (/embed/subscribe) count against the same
counters (a shared scope), so a second way in does not double anybody's allowance.
"""
from __future__ import annotations

from flask import current_app, request
from werkzeug.exceptions import RequestEntityTooLarge

from mailer.extensions import limiter
from mailer.subscribers.addresses import address_key


def address_limit_key() -> str:
    """Rate-limit key for one mailbox, however it is written (case, full-width forms, Unicode domain)."""
    try:
        email = request.form.get("email") or ""
    except RequestEntityTooLarge:
        return "address:"  # the view answers 413 before anything is stored; no traceback in the log
    return "address:" + address_key(email[:1000])[:254]


def ip_limit() -> str:
    return current_app.config["SIGNUP_LIMIT_PER_IP"]


def address_limit() -> str:
    return current_app.config["SIGNUP_LIMIT_PER_ADDRESS"]


# Decorators for a signup view: both limits count POSTs only, across every route that carries them.
per_ip = limiter.shared_limit(ip_limit, scope="signup-ip", methods=["POST"])
per_address = limiter.shared_limit(address_limit, scope="signup-address", key_func=address_limit_key,
                                   methods=["POST"])
