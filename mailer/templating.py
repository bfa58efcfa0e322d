"""Values every page template can use."""
from __future__ import annotations

from flask import Flask
from flask_babel import get_locale

from mailer import clock
from mailer.subscribers.consent import CONSENT_VERSION


def init_app(app: Flask) -> None:
    """Register the template context and the `copenhagen` filter (staff see Copenhagen time with the zone)."""
    organisation = app.config["ORGANISATION_NAME"]

    def copenhagen(moment, seconds: bool = False) -> str:
        return clock.format_copenhagen(moment, str(get_locale() or app.config["BABEL_DEFAULT_LOCALE"]), seconds)

    app.jinja_env.filters["copenhagen"] = copenhagen

    @app.context_processor
    def page_context() -> dict[str, object]:
        return {
            "current_language": str(get_locale() or app.config["BABEL_DEFAULT_LOCALE"]),
            "organisation_name": organisation,
            "consent_version": CONSENT_VERSION,
        }
