"""Values every page template can use."""
from __future__ import annotations

from email.utils import parseaddr

from flask import Flask
from flask_babel import get_locale

from mailer.subscribers.ledger import CONSENT_VERSION


def organisation_name(mail_from: str) -> str:
    """Return the display name of MAILER_FROM, or its address when it has none."""
    name, address = parseaddr(mail_from)
    return name or address


def init_app(app: Flask) -> None:
    """Register the template context."""
    organisation = organisation_name(app.config["MAIL_FROM"])

    @app.context_processor
    def page_context() -> dict[str, object]:
        return {
            "current_language": str(get_locale() or app.config["BABEL_DEFAULT_LOCALE"]),
            "organisation_name": organisation,
            "consent_version": CONSENT_VERSION,
        }
