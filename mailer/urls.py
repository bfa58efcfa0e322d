"""Absolute URLs on MAILER_BASE_URL, for mails, feeds and calendar files: with or without a request."""
from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from flask import current_app


def public_url(endpoint: str, **values: Any) -> str:
    """Build an absolute URL on MAILER_BASE_URL."""
    base = urlsplit(current_app.config["BASE_URL"])
    adapter = current_app.url_map.bind(base.netloc, script_name=base.path or "/", url_scheme=base.scheme)
    return adapter.build(endpoint, values, force_external=True)
