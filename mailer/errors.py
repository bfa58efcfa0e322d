"""Friendly, translated error pages: bad input gets a 4xx, never a raw 500."""
from __future__ import annotations

import logging

from flask import Flask, render_template
from flask_babel import gettext
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException

log = logging.getLogger(__name__)


def _messages() -> dict[int, tuple[str, str]]:
    return {
        400: (gettext("Something in the request was wrong"), gettext("Please go back, check what you entered and try again.")),
        403: (gettext("Not allowed"), gettext("You do not have permission to do this.")),
        404: (gettext("Page not found"), gettext("The page you asked for does not exist.")),
        405: (gettext("Not allowed"), gettext("This page cannot be used that way.")),
        413: (gettext("Too much data"), gettext("What you sent is larger than we accept. Please shorten it and try again.")),
        429: (gettext("Too many attempts"), gettext("You have tried too many times. Please wait a while and try again.")),
        500: (gettext("Something went wrong on our side"), gettext("Nothing you entered is lost. Please try again in a moment.")),
    }


def render_error(code: int, title: str | None = None, message: str | None = None):
    """Render the error page for an HTTP status."""
    default_title, default_message = _messages().get(code, _messages()[400])
    return render_template("error.html", title=title or default_title, message=message or default_message), code


def init_app(app: Flask) -> None:
    """Register the error handlers."""

    @app.errorhandler(CSRFError)
    def csrf_error(error: CSRFError):
        return render_error(
            400, gettext("The form has expired"), gettext("Please reload the page and submit the form again.")
        )

    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException):
        return render_error(error.code or 500)

    @app.errorhandler(UnicodeError)
    def unicode_error(error: UnicodeError):
        return render_error(400)

    @app.errorhandler(Exception)
    def unexpected_error(error: Exception):
        log.exception("unhandled error")
        return render_error(500)
