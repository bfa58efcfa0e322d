"""Security headers on every response (docs/SECURITY.md): a strict Content-Security-Policy, no framing,
nosniff, no referrer, and no caching of staff pages, exports and pages reached with a subscriber's link.

A small after-request hook rather than a library: the policy is a few lines and states exactly what the
templates need. No page has inline script or style; the vendored htmx is a file from 'self' and its
indicator styles are turned off in base.html.
"""
from __future__ import annotations

from flask import Flask, Response, request

STRICT_POLICY = {
    "default-src": "'self'",
    "script-src": "'self'",
    "style-src": "'self'",
    "img-src": "'self' data:",
    "object-src": "'none'",
    "base-uri": "'none'",
    "form-action": "'self'",
    "frame-ancestors": "'none'",
}
# Pages that show a mail in a sandboxed srcdoc frame (no scripts run there). The frame inherits the page's
# policy, and mails carry inline styles and may show images from the web, so these pages let them in.
MAIL_VIEW_ENDPOINTS = frozenset({"archive.item", "staff.outbox_message", "staff_mailings.preview_page"})
MAIL_VIEW_POLICY = {**STRICT_POLICY, "style-src": "'self' 'unsafe-inline'", "img-src": "'self' data: https:"}
# Public pages whose URL holds a subscriber's token, and what they show is that subscriber's.
TOKEN_PREFIXES = ("/confirm/", "/manage/", "/unsubscribe/", "/one-click/")


def _policy_text(policy: dict[str, str]) -> str:
    return "; ".join(f"{name} {value}" for name, value in policy.items())


STRICT = _policy_text(STRICT_POLICY)
MAIL_VIEW = _policy_text(MAIL_VIEW_POLICY)


def add_security_headers(response: Response) -> Response:
    headers = response.headers
    headers.setdefault("Content-Security-Policy", MAIL_VIEW if request.endpoint in MAIL_VIEW_ENDPOINTS else STRICT)
    headers.setdefault("X-Frame-Options", "DENY")
    headers.setdefault("X-Content-Type-Options", "nosniff")
    headers.setdefault("Referrer-Policy", "no-referrer")
    if request.path.startswith("/staff/") or request.path.startswith(TOKEN_PREFIXES):
        headers["Cache-Control"] = "no-store"
    return response


def init_app(app: Flask) -> None:
    app.after_request(add_security_headers)
