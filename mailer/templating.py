"""Values every page template can use."""
from __future__ import annotations

from flask import Flask
from flask_babel import get_locale

from mailer.subscribers.consent import CONSENT_VERSION


def init_app(app: Flask) -> None:
    """Register the template context."""
    organisation = app.config["ORGANISATION_NAME"]

    @app.context_processor
    def page_context() -> dict[str, object]:
        return {
            "current_language": str(get_locale() or app.config["BABEL_DEFAULT_LOCALE"]),
            "organisation_name": organisation,
            "consent_version": CONSENT_VERSION,
        }
