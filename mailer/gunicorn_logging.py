"""gunicorn's access log without subscribers' link tokens (issue 10, item 14).

Manage, unsubscribe and confirm links carry long-lived tokens in their path; a log line holding one
is as good as the link. gunicorn's access_log_format can only pick fields, not edit them, so this
logger class rewrites every field before formatting: the path segment after /confirm/, /manage/,
/unsubscribe/ or /one-click/ (also percent-encoded, and wherever it appears: request line, path,
Referer, Location, environ) becomes "[token]".

    gunicorn --logger-class mailer.gunicorn_logging.RedactingLogger …

It imports only gunicorn and the standard library, so gunicorn's master loads it without the app.
"""
from __future__ import annotations

import re
from urllib.parse import unquote

from gunicorn.glogging import Logger

TOKEN_SEGMENTS = frozenset({"confirm", "manage", "unsubscribe", "one-click"})
REDACTED = "[token]"
# Zero-width, so pairs may overlap: in /x/manage/<token>, "/x/manage" and "/manage/<token>" both match.
_SEGMENT_PAIR = re.compile(r"/(?=([^/?#\s\"]+)/([^/?#\s\"]+))")


def redact(text: str) -> str:
    """Replace the token that follows a link's path segment with [token]."""
    spans = [match.span(2) for match in _SEGMENT_PAIR.finditer(text)
             if unquote(match.group(1)).lower() in TOKEN_SEGMENTS]
    for start, end in reversed(spans):
        text = text[:start] + REDACTED + text[end:]
    return text


class RedactingLogger(Logger):
    """gunicorn's Logger, with link tokens redacted from every access-log atom."""

    def atoms(self, resp, req, environ, request_time):
        atoms = super().atoms(resp, req, environ, request_time)
        return {key: redact(value) if isinstance(value, str) else value for key, value in atoms.items()}
